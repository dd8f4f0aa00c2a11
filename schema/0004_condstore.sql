-- mailark state, schema v4: CONDSTORE (RFC 7162). Per folder row, the
-- HIGHESTMODSEQ up to which the archived messages' flags are current, so a
-- later run asks the server only for flags changed since then.
ALTER TABLE folders ADD COLUMN highest_modseq INTEGER NOT NULL DEFAULT 0;
