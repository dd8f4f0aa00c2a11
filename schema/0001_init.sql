-- mailark state, schema v1. Append-only: never edit a released file; add
-- 0002_*.sql instead. The version is recorded in PRAGMA user_version by the
-- migrator (src/state/migrator.h).
--
-- Timestamps are ISO-8601 UTC text ("2024-05-01T12:00:00Z"), so they sort
-- and read the same everywhere. The content store, not this database, is
-- the source of truth for message bytes; a row here says "these bytes are
-- durable in the store under this sha256".

-- One row per `mailark run`.
CREATE TABLE runs (
  id               INTEGER PRIMARY KEY,
  started          TEXT NOT NULL,
  finished         TEXT,              -- NULL while running, or if it crashed
  mailboxes_ok     INTEGER NOT NULL DEFAULT 0,
  mailboxes_failed INTEGER NOT NULL DEFAULT 0,
  messages         INTEGER NOT NULL DEFAULT 0,
  bytes            INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE mailboxes (
  id                INTEGER PRIMARY KEY,
  address           TEXT NOT NULL UNIQUE,
  last_run_id       INTEGER REFERENCES runs(id),
  last_run_started  TEXT,              -- start of the run that last processed it
  last_run_finished TEXT,              -- when that run finished this mailbox
  last_error        TEXT               -- NULL when that attempt succeeded
);

-- One row per (folder name, UIDVALIDITY): a new UIDVALIDITY starts a new
-- row and the old rows, with their messages, stay.
CREATE TABLE folders (
  id          INTEGER PRIMARY KEY,
  mailbox_id  INTEGER NOT NULL REFERENCES mailboxes(id),
  name        TEXT NOT NULL,           -- decoded UTF-8, not modified UTF-7
  uidvalidity INTEGER NOT NULL,
  uidnext     INTEGER NOT NULL DEFAULT 0,
  highest_uid INTEGER NOT NULL DEFAULT 0,
  created_at  TEXT NOT NULL,
  UNIQUE (mailbox_id, name, uidvalidity)
);

-- WITHOUT ROWID clusters rows by (folder_id, uid), which is exactly the
-- range archivedUids() scans.
CREATE TABLE messages (
  folder_id    INTEGER NOT NULL REFERENCES folders(id),
  uid          INTEGER NOT NULL,
  sha256       TEXT NOT NULL CHECK (length(sha256) = 64),
  size         INTEGER NOT NULL,
  internaldate TEXT NOT NULL,          -- as the server sent it
  flags        TEXT NOT NULL,          -- space-separated, as the server sent them
  archived_at  TEXT NOT NULL,
  PRIMARY KEY (folder_id, uid)
) WITHOUT ROWID;

CREATE INDEX messages_by_sha256 ON messages(sha256);
