-- The monthly report reads one index: each case carries the figures it
-- adds to its cell, kept by the writer as timers fire, follow-ups are
-- scheduled and done (until now the report counted them per case in
-- `timers` and `case_events`, three lookups per case of the month).
--   sla_breaches         SLA timers (first response, resolve) that fired;
--                        a breach stays counted after a reopen re-arms
--                        the resolve timer
--   follow_up_scheduled  1 once a follow-up timer was armed
--   follow_ups_done      `followed_up` events recorded
ALTER TABLE cases ADD COLUMN sla_breaches INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN follow_up_scheduled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN follow_ups_done INTEGER NOT NULL DEFAULT 0;
UPDATE cases SET
    sla_breaches = (SELECT COUNT(*) FROM timers t
                     WHERE t.case_no = cases.no AND t.kind IN ('first_response', 'resolve') AND t.state = 'fired'),
    follow_up_scheduled = EXISTS (SELECT 1 FROM timers t WHERE t.case_no = cases.no AND t.kind = 'follow_up'),
    follow_ups_done = (SELECT COUNT(*) FROM case_events e WHERE e.case_no = cases.no AND e.kind = 'followed_up');
-- Every column the report and a cell's control chart read, after the
-- month's range: the report is a scan of this index, not of the table.
-- It replaces `cases_opened`, which it begins with.
DROP INDEX cases_opened;
CREATE INDEX cases_report ON cases (opened_at, category, product_line, tier, currency, status,
                                    escalation_rank, goodwill, sla_breaches, follow_up_scheduled, follow_ups_done);
