-- The PostgreSQL store, shared by every daemon of a cluster. The same
-- content as the SQLite store's tables, keyed by case id rather than by a
-- case number a node keeps in memory, with the audit log's lines in the
-- database (there is no file beside it). Times are milliseconds since the
-- epoch, money DOUBLE PRECISION, as in the SQLite store.

CREATE TABLE decisions (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- the cursor of GET /v1/decisions
    event_id         TEXT   NOT NULL,
    case_id          TEXT   NOT NULL,
    kind             TEXT   NOT NULL,                   -- complaint | sla_breach | follow_up_due
    decided_at       BIGINT NOT NULL,
    ruleset_version  TEXT   NOT NULL,
    plugin_digests   TEXT   NOT NULL,                   -- JSON: plugin -> sha256
    event_digest     TEXT,                              -- of the event as sent (a retry must match)
    event            TEXT,                              -- JSON, for complaints
    decision         TEXT   NOT NULL,                   -- JSON, as answered (byte for byte)
    replay           TEXT                               -- JSON: what the rules read (replay, diff)
);
-- One decision per complaint, across every node.
CREATE UNIQUE INDEX decisions_complaint ON decisions (event_id) WHERE kind = 'complaint';
CREATE INDEX decisions_case ON decisions (case_id, seq);
CREATE INDEX decisions_time ON decisions (decided_at);

CREATE TABLE cases (
    id               TEXT   PRIMARY KEY,                -- the complaint's event id
    customer_id      TEXT,
    status           TEXT   NOT NULL,                   -- open | responded | resolved | confirmed | closed
    opened_at        BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    category         TEXT,
    product_line     TEXT,
    tier             TEXT,
    location         TEXT,
    queue            TEXT   NOT NULL,
    handler          TEXT,
    escalation_level TEXT,
    escalation_rank  BIGINT NOT NULL DEFAULT -1,
    goodwill         DOUBLE PRECISION NOT NULL DEFAULT 0,
    currency         TEXT,
    resolve_ms       BIGINT,
    follow_up_ms     BIGINT,
    breach_escalate  TEXT,
    breach_rank      BIGINT,
    breach_notify    TEXT,                              -- JSON list
    responded_at     BIGINT,
    resolved_at      BIGINT,
    confirmed_at     BIGINT,
    closed_at        BIGINT
);
CREATE INDEX cases_customer ON cases (customer_id, opened_at DESC);
CREATE INDEX cases_opened ON cases (opened_at);

CREATE TABLE case_events (
    seq      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id  TEXT   NOT NULL,
    kind     TEXT   NOT NULL,
    at       BIGINT NOT NULL,
    data     TEXT                                       -- JSON
);
CREATE INDEX case_events_case ON case_events (case_id, seq);

CREATE TABLE timers (
    case_id   TEXT   NOT NULL,
    kind      TEXT   NOT NULL,                          -- first_response | resolve | follow_up
    due_at    BIGINT NOT NULL,
    state     TEXT   NOT NULL,                          -- pending | fired | cancelled
    fired_at  BIGINT,
    PRIMARY KEY (case_id, kind)
);
-- What the nodes claim from: pending timers only, so fired and cancelled
-- ones leave the index and the claim stays quick on a big table.
CREATE INDEX timers_due ON timers (due_at) WHERE state = 'pending';

CREATE TABLE control_tallies (
    rule     TEXT   NOT NULL,
    grp      TEXT   NOT NULL,
    level    BIGINT NOT NULL,
    bucket   BIGINT NOT NULL,                           -- time / bucket size
    count    BIGINT NOT NULL,
    PRIMARY KEY (rule, grp, level, bucket)
);

CREATE TABLE case_grants (
    case_id        TEXT   NOT NULL,
    rule           TEXT   NOT NULL,
    policy         TEXT   NOT NULL,
    max_cost       DOUBLE PRECISION NOT NULL,
    scope          TEXT,
    budget_window  BIGINT,
    budget_count   BIGINT,
    budget_amount  DOUBLE PRECISION,
    PRIMARY KEY (case_id, policy)
);

CREATE TABLE authority_uses (
    rule     TEXT   NOT NULL,
    scope    TEXT   NOT NULL,
    policy   TEXT   NOT NULL,
    case_id  TEXT   NOT NULL,
    at       BIGINT NOT NULL,
    cost     DOUBLE PRECISION NOT NULL,
    used_by  TEXT
);
CREATE INDEX authority_uses_key ON authority_uses (rule, scope, at);

CREATE TABLE blobs (
    sha256   TEXT  PRIMARY KEY,                         -- hex
    content  BYTEA NOT NULL
);

CREATE TABLE snapshots (
    version          TEXT   PRIMARY KEY,                -- the snapshot's version (rules and plugins)
    ruleset_version  TEXT   NOT NULL,
    rule_files       TEXT   NOT NULL,                   -- JSON [[file name, blob], ...] in load order
    plugins          TEXT   NOT NULL,                   -- JSON [[name, component digest, manifest blob], ...]
    first_served     BIGINT NOT NULL
);
