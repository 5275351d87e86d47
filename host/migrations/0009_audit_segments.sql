-- The audit log's file is written in segments: each a file of its own,
-- named by where it starts in the log's bytes (`payload_at` stays one
-- offset across all of them). The live ones, oldest first; the last is
-- the one appended to. Segments past the live window are compressed into
-- `archive/` and leave this table (docs/retention.md).
CREATE TABLE audit_segments (
    start      INTEGER PRIMARY KEY,  -- byte offset of the segment's first line
    first_seq  INTEGER NOT NULL      -- the position of its first entry
);
INSERT INTO audit_segments (start, first_seq)
    VALUES (0, COALESCE((SELECT MIN(seq) FROM decisions), 1));
