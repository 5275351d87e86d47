-- Redress durable state, version 8: each complaint decision keeps the
-- digest of its event as sent, so that the same id sent again with a
-- different body is refused rather than answered with the old decision.
-- Decisions recorded before this version keep NULL and are not checked.
ALTER TABLE decisions ADD COLUMN event_digest TEXT;
