-- Retention finds what is past its cutoff on an index: control-line
-- counts by age within each level, and uses of authority by time
-- (docs/retention.md). Closed cases are found on `cases_report`.
CREATE INDEX control_tallies_age ON control_tallies (level, bucket);
CREATE INDEX authority_uses_age ON authority_uses (at);
