-- Redress durable state, version 6: every snapshot that decided (the text
-- of its rule files, and its plugins' manifests and components) is kept
-- under its version, so that each logged decision, which names its
-- snapshot, can be decided again exactly (`redress replay`, `redress diff`,
-- the reload gate). Texts and components are kept once, by their sha256.
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,         -- hex
    content BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE snapshots (
    version TEXT PRIMARY KEY,        -- the snapshot's version (rules and plugins)
    ruleset_version TEXT NOT NULL,   -- the rule set's, as decisions name it
    rule_files TEXT NOT NULL,        -- JSON [[file name, blob], ...] in load order
    plugins TEXT NOT NULL,           -- JSON [[name, component digest, manifest blob], ...] in run order
    first_served INTEGER NOT NULL    -- milliseconds since the epoch
) WITHOUT ROWID;
