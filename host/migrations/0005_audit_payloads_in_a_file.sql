-- Redress durable state, version 5: each decision's event and answer are
-- appended to decisions.jsonl in the data directory (one JSON line each,
-- host/src/store/audit_file.rs); the row says where its line is. Entries
-- written before this version keep theirs in `event` and `decision` and
-- have no `payload_at`; newer ones have `event` NULL and `decision` ''.
-- The kilobytes of JSON cost a page write in the WAL and another at the
-- checkpoint in the database; in the file they cost one sequential write.
ALTER TABLE decisions ADD COLUMN payload_at INTEGER;   -- byte offset in decisions.jsonl
ALTER TABLE decisions ADD COLUMN payload_len INTEGER;  -- bytes, with the newline
