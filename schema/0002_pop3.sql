-- mailark state, schema v2: POP3 archiving (issue 7). Append-only.
--
-- POP3 has no folders, UIDs or UIDVALIDITY. A POP3 mailbox is stored as one
-- folder row named 'INBOX' with uidvalidity 0 (IMAP never reports 0), and
-- each archived message gets a local uid (1, 2, ... in archiving order) so
-- the existing messages table, `ls` and `status` work unchanged. The
-- server's UIDL, which is what makes POP3 incremental, is kept beside it;
-- IMAP rows leave it NULL.
ALTER TABLE messages ADD COLUMN uidl TEXT;

-- One row per UIDL in a folder: recording the same UIDL twice is a no-op.
CREATE UNIQUE INDEX messages_by_uidl ON messages(folder_id, uidl) WHERE uidl IS NOT NULL;
