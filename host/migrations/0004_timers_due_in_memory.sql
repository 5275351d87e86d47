-- Redress durable state, version 4: the pending timers are found by due
-- time in memory (host/src/store/timer_queue.rs), loaded from the timers
-- table when the store opens. Due times are spread over the SLA's
-- durations, so this index took a write at several places of the file for
-- every commit (5 of the 28 pages a commit wrote on the benchmark).
DROP INDEX timers_due;
