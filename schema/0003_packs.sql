-- mailark state, schema v3: the pack index and the last successful run.
--
-- objects maps each stored object (SHA-256 of its original bytes) to its
-- frame in a pack file. Rows are written in the same transaction as the
-- message rows that point at them, after the packs were fsynced. Messages
-- archived under schema v1 have no row here: their bytes stay in the
-- file-per-object layout (objects/ab/<sha>), which remains readable.
CREATE TABLE objects (
  sha256      TEXT PRIMARY KEY CHECK (length(sha256) = 64),
  pack        INTEGER NOT NULL,
  pack_offset INTEGER NOT NULL,
  length      INTEGER NOT NULL,        -- whole frame, header included
  stored_size INTEGER NOT NULL,        -- payload bytes in the pack
  size        INTEGER NOT NULL,        -- original bytes
  compression INTEGER NOT NULL         -- 0 none, 1 zstd
) WITHOUT ROWID;

-- verify reads objects in pack order; recovery asks for each pack's end.
CREATE INDEX objects_by_location ON objects(pack, pack_offset);

ALTER TABLE mailboxes ADD COLUMN last_success TEXT;  -- finish time of the last run without error
UPDATE mailboxes SET last_success = last_run_finished WHERE last_error IS NULL;
