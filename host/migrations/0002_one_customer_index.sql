-- Redress durable state, version 2: one index for a customer's history
-- instead of two. The open cases, the complaints of the last 30 days and
-- the goodwill of the last 365 days are counted in one pass over the
-- customer's latest cases, read from the index alone; a decision then
-- rewrites one page at a random place in the file less.
DROP INDEX cases_customer_open;
DROP INDEX cases_customer;
CREATE INDEX cases_customer ON cases(customer_id, opened_at, goodwill, status);
