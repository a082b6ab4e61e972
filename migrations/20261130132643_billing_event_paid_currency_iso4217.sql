-- Modify "billing_events" table
ALTER TABLE "billing_events" ADD CONSTRAINT "paid_currency_iso4217" CHECK (paid_currency ~ '^[A-Z]{3}$'::text);
