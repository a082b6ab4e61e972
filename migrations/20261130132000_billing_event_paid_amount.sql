-- Modify "billing_events" table
ALTER TABLE "billing_events" ADD CONSTRAINT "paid_amount_non_negative" CHECK (paid_amount >= 0), ADD COLUMN "paid_amount" bigint NULL, ADD COLUMN "paid_currency" character(3) NULL;
