-- Redress durable state, version 1. Times are milliseconds since the Unix
-- epoch. Applied once, in a transaction, by the store at startup.

-- The audit log: every decision, as answered, with what decided it.
CREATE TABLE decisions (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,  -- the cursor of GET /v1/decisions
    event_id         TEXT    NOT NULL,
    case_id          TEXT    NOT NULL,
    case_no          INTEGER NOT NULL,                   -- cases.no
    kind             TEXT    NOT NULL,                   -- complaint | sla_breach | follow_up_due
    decided_at       INTEGER NOT NULL,
    ruleset_version  TEXT    NOT NULL,
    plugin_digests   TEXT    NOT NULL,                   -- JSON: plugin -> sha256
    event            TEXT,                               -- JSON of the complaint event
    decision         TEXT    NOT NULL                    -- JSON
);
-- Also finds a complaint's decision when its event is sent again.
CREATE INDEX decisions_case ON decisions(case_no, seq);
CREATE INDEX decisions_time ON decisions(decided_at);

-- One case per complaint, and where it stands. Other tables refer to a
-- case by its number, given in order of arrival: their keys then grow at
-- the end of their b-trees instead of landing on a random page, and a
-- decision rewrites fewer pages.
CREATE TABLE cases (
    no               INTEGER PRIMARY KEY,
    id               TEXT    NOT NULL UNIQUE,            -- the complaint's event id
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
-- A customer's history without reading the cases themselves.
CREATE INDEX cases_customer ON cases(customer_id, opened_at, goodwill);
CREATE INDEX cases_customer_open ON cases(customer_id) WHERE status != 'closed';
CREATE INDEX cases_opened ON cases(opened_at);

-- What happened to a case after it was opened (the case's opened_at), in
-- order.
CREATE TABLE case_events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    case_no  INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    at       INTEGER NOT NULL,
    data     TEXT                                        -- JSON
);
CREATE INDEX case_events_case ON case_events(case_no, seq);

-- SLA commitments and follow-ups. One timer of each kind per case.
CREATE TABLE timers (
    case_no   INTEGER NOT NULL,
    kind      TEXT    NOT NULL,                          -- first_response | resolve | follow_up
    due_at    INTEGER NOT NULL,
    state     TEXT    NOT NULL,                          -- pending | fired | cancelled
    fired_at  INTEGER,
    PRIMARY KEY (case_no, kind)
) WITHOUT ROWID;
CREATE INDEX timers_due ON timers(state, due_at);

-- Complaints counted by control lines, per cell, in minute (level 0), hour
-- (1) and day (2) buckets: a window is summed from a few buckets however
-- many complaints it holds (see host/src/store/tally.rs).
CREATE TABLE control_tallies (
    rule     TEXT    NOT NULL,
    grp      TEXT    NOT NULL,
    level    INTEGER NOT NULL,
    bucket   INTEGER NOT NULL,                           -- time / bucket size
    count    INTEGER NOT NULL,
    PRIMARY KEY (rule, grp, level, bucket)
) WITHOUT ROWID;

-- Policies a case's handler may bend, as decided.
CREATE TABLE case_grants (
    case_id        TEXT    NOT NULL,
    rule           TEXT    NOT NULL,
    policy         TEXT    NOT NULL,
    max_cost       REAL    NOT NULL,
    scope          TEXT,
    budget_window  INTEGER,
    budget_count   INTEGER,
    budget_amount  REAL,
    PRIMARY KEY (case_id, policy)
);

-- Uses of those grants, counted against budgets.
CREATE TABLE authority_uses (
    rule     TEXT    NOT NULL,
    scope    TEXT    NOT NULL,
    policy   TEXT    NOT NULL,
    case_id  TEXT    NOT NULL,
    at       INTEGER NOT NULL,
    cost     REAL    NOT NULL,
    used_by  TEXT
);
CREATE INDEX authority_uses_key ON authority_uses(rule, scope, at);
