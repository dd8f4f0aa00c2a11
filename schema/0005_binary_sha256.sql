-- mailark state, schema v5: SHA-256 keys as 32-byte blobs, archived_at as
-- an integer (issue 5: a small index at 100 million messages).
-- Append-only.
--
-- Hex text spent 64 bytes on each of the four copies of a message's hash
-- (messages row, messages_by_sha256, objects row, objects_by_location);
-- a blob spends 32, and the messages index now keeps an 8-byte prefix.
-- Measured at 1 000 000 messages: 387 -> 190 bytes per message.
-- The public API still speaks lower-case hex: src/state converts at the
-- boundary. SQLite 3.40 has no unhex(), so mailark_sha256_blob() is
-- registered on the connection by the migrator (src/state/sql_functions.h);
-- it returns NULL for a malformed value, which NOT NULL then refuses, so
-- a bad row fails the migration (rolled back whole) instead of being lost.
--
-- messages.archived_at becomes Unix seconds (INTEGER, 4 bytes) instead of
-- ISO-8601 text (20 bytes): it is the one per-message timestamp, and the
-- conversion is exact at its one-second resolution. A value strftime()
-- cannot parse is kept as it was rather than lost. (internaldate stays
-- text: it is kept exactly as the server sent it.)
--
-- SQLite cannot change a column's type in place: each table is rebuilt,
-- copied in key order, and its indexes recreated under the old names.
-- No table references messages or objects, so dropping them is safe with
-- foreign_keys on.

CREATE TABLE objects_v5 (
  sha256      BLOB PRIMARY KEY CHECK (typeof(sha256) = 'blob' AND length(sha256) = 32),
  pack        INTEGER NOT NULL,
  pack_offset INTEGER NOT NULL,
  length      INTEGER NOT NULL,        -- whole frame, header included
  stored_size INTEGER NOT NULL,        -- payload bytes in the pack
  size        INTEGER NOT NULL,        -- original bytes
  compression INTEGER NOT NULL         -- 0 none, 1 zstd
) WITHOUT ROWID;

INSERT INTO objects_v5(sha256, pack, pack_offset, length, stored_size, size, compression)
  SELECT mailark_sha256_blob(sha256), pack, pack_offset, length, stored_size, size, compression
  FROM objects ORDER BY sha256;
DROP TABLE objects;
ALTER TABLE objects_v5 RENAME TO objects;
-- verify reads objects in pack order; recovery asks for each pack's end.
CREATE INDEX objects_by_location ON objects(pack, pack_offset);

CREATE TABLE messages_v5 (
  folder_id    INTEGER NOT NULL REFERENCES folders(id),
  uid          INTEGER NOT NULL,
  sha256       BLOB NOT NULL CHECK (typeof(sha256) = 'blob' AND length(sha256) = 32),
  size         INTEGER NOT NULL,
  internaldate TEXT NOT NULL,          -- as the server sent it
  flags        TEXT NOT NULL,          -- space-separated, as the server sent them
  archived_at  INTEGER NOT NULL,       -- Unix seconds, UTC
  uidl         TEXT,                   -- POP3 only (0002)
  PRIMARY KEY (folder_id, uid)
) WITHOUT ROWID;

INSERT INTO messages_v5(folder_id, uid, sha256, size, internaldate, flags, archived_at, uidl)
  SELECT folder_id, uid, mailark_sha256_blob(sha256), size, internaldate, flags,
         coalesce(CAST(strftime('%s', archived_at) AS INTEGER), archived_at), uidl
  FROM messages ORDER BY folder_id, uid;
DROP TABLE messages;
ALTER TABLE messages_v5 RENAME TO messages;
-- Messages are looked up by hash only to find an object's holders (verify,
-- a mailbox's objects). The first 8 bytes find those rows (plus, at odds
-- of about rows/2^64, another hash's), and queries then compare the whole
-- hash, so the index keeps 8 bytes of each hash instead of 32. Queries
-- must spell the expression exactly as below for SQLite to use it.
CREATE INDEX messages_by_sha256_prefix ON messages(substr(sha256, 1, 8));
CREATE UNIQUE INDEX messages_by_uidl ON messages(folder_id, uidl) WHERE uidl IS NOT NULL;
