-- Redress durable state, version 3: case ids and customer ids are looked
-- up in memory (host/src/store/case_index.rs), loaded from this table when
-- the store opens. Both are chosen by clients, so their B-tree indexes took
-- a write at a random page of the file for every complaint. SQLite cannot
-- drop a UNIQUE constraint, so the table is copied without it; the writer
-- keeps case ids unique.
DROP INDEX cases_customer;
CREATE TABLE cases_v3 (
    no               INTEGER PRIMARY KEY,
    id               TEXT    NOT NULL,                   -- the complaint's event id (unique, kept so by the writer)
    customer_id      TEXT,
    status           TEXT    NOT NULL,                   -- open | responded | resolved | confirmed | closed
    opened_at        INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    category         TEXT,
    product_line     TEXT,
    tier             TEXT,
    location         TEXT,
    queue            TEXT    NOT NULL,
    handler          TEXT,
    escalation_level TEXT,
    escalation_rank  INTEGER NOT NULL DEFAULT -1,
    goodwill         REAL    NOT NULL DEFAULT 0,         -- worth of the offers made
    resolve_ms       INTEGER,                            -- the SLA's resolve time, re-armed on reopen
    follow_up_ms     INTEGER,                            -- the SLA's follow-up delay after resolution
    breach_escalate  TEXT,
    breach_rank      INTEGER,
    breach_notify    TEXT,                               -- JSON list
    responded_at     INTEGER,
    resolved_at      INTEGER,
    confirmed_at     INTEGER,
    closed_at        INTEGER
);
INSERT INTO cases_v3 SELECT * FROM cases;
DROP TABLE cases;
ALTER TABLE cases_v3 RENAME TO cases;
CREATE INDEX cases_opened ON cases(opened_at);
