-- Redress durable state, version 7: a case names the currency of its
-- goodwill, so that the report groups compensation by currency and never
-- adds amounts in different currencies. Cases opened before this version
-- keep NULL: their currency was not recorded (the report says so).
ALTER TABLE cases ADD COLUMN currency TEXT;
