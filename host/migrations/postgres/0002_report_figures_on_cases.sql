-- The monthly report reads one index: each case carries the figures it
-- adds to its cell, kept by the writer as timers fire, follow-ups are
-- scheduled and done (the SQLite store's migration 10 does the same).
--   sla_breaches         SLA timers (first response, resolve) that fired;
--                        a breach stays counted after a reopen re-arms
--                        the resolve timer
--   follow_up_scheduled  1 once a follow-up timer was armed
--   follow_ups_done      `followed_up` events recorded
ALTER TABLE cases ADD COLUMN sla_breaches BIGINT NOT NULL DEFAULT 0,
                  ADD COLUMN follow_up_scheduled BIGINT NOT NULL DEFAULT 0,
                  ADD COLUMN follow_ups_done BIGINT NOT NULL DEFAULT 0;
UPDATE cases SET
    sla_breaches = (SELECT COUNT(*) FROM timers t
                     WHERE t.case_id = cases.id AND t.kind IN ('first_response', 'resolve') AND t.state = 'fired'),
    follow_up_scheduled = (SELECT COUNT(*) FROM timers t WHERE t.case_id = cases.id AND t.kind = 'follow_up'),
    follow_ups_done = (SELECT COUNT(*) FROM case_events e WHERE e.case_id = cases.id AND e.kind = 'followed_up');
-- Every column the report and a cell's control chart read, after the
-- month's range, so both are index-only scans. It replaces `cases_opened`.
DROP INDEX cases_opened;
CREATE INDEX cases_report ON cases (opened_at) INCLUDE (category, product_line, tier, currency, status,
                                    escalation_rank, goodwill, sla_breaches, follow_up_scheduled, follow_ups_done);
