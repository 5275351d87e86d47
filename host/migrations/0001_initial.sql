-- Redress durable state, version 1. Times are milliseconds since the Unix
-- epoch. Applied once, in a transaction, by the store at startup.

-- The audit log: every decision, as answered, with what decided it.
CREATE TABLE decisions (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,  -- the cursor of GET /v1/decisions
    event_id         TEXT    NOT NULL,
    case_id          TEXT    NOT NULL,
    kind             TEXT    NOT NULL,                   -- complaint | sla_breach | follow_up_due
    decided_at       INTEGER NOT NULL,
    ruleset_version  TEXT    NOT NULL,
    plugin_digests   TEXT    NOT NULL,                   -- JSON: plugin -> sha256
    event            TEXT,                               -- JSON of the complaint event
    decision         TEXT    NOT NULL                    -- JSON
);
CREATE UNIQUE INDEX decisions_complaint ON decisions(event_id) WHERE kind = 'complaint';
CREATE INDEX decisions_case ON decisions(case_id, seq);
CREATE INDEX decisions_time ON decisions(decided_at);

-- One case per complaint, and where it stands.
CREATE TABLE cases (
    id               TEXT    PRIMARY KEY,                -- the complaint's event id
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
CREATE INDEX cases_customer ON cases(customer_id, opened_at);
CREATE INDEX cases_opened ON cases(opened_at);

-- What happened to a case, in order.
CREATE TABLE case_events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id  TEXT    NOT NULL,
    kind     TEXT    NOT NULL,
    at       INTEGER NOT NULL,
    data     TEXT                                        -- JSON
);
CREATE INDEX case_events_case ON case_events(case_id, seq);

-- SLA commitments and follow-ups. One timer of each kind per case.
CREATE TABLE timers (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id   TEXT    NOT NULL,
    kind      TEXT    NOT NULL,                          -- first_response | resolve | follow_up
    due_at    INTEGER NOT NULL,
    state     TEXT    NOT NULL,                          -- pending | fired | cancelled
    fired_at  INTEGER
);
CREATE UNIQUE INDEX timers_case_kind ON timers(case_id, kind);
CREATE INDEX timers_due ON timers(state, due_at);

-- Complaints counted by control lines.
CREATE TABLE control_hits (
    rule     TEXT    NOT NULL,
    grp      TEXT    NOT NULL,
    at       INTEGER NOT NULL,
    case_id  TEXT    NOT NULL
);
CREATE INDEX control_hits_key ON control_hits(rule, grp, at);

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
