-- Currencies are ISO 4217 codes: three upper-case ASCII letters. Codes
-- stored lower-case before the check existed are upper-cased first; any
-- other malformed code makes this file fail (nothing applied): fix the row
-- by hand, then apply again.
UPDATE "campaigns" SET "budget_currency" = upper("budget_currency") WHERE "budget_currency" <> upper("budget_currency");
UPDATE "plans" SET "price_currency" = upper("price_currency") WHERE "price_currency" <> upper("price_currency");
UPDATE "topup_orders" SET "paid_currency" = upper("paid_currency") WHERE "paid_currency" <> upper("paid_currency");
-- Modify "campaigns" table
ALTER TABLE "campaigns" ADD CONSTRAINT "budget_currency_iso4217" CHECK (budget_currency ~ '^[A-Z]{3}$'::text);
-- Modify "plans" table
ALTER TABLE "plans" ADD CONSTRAINT "price_currency_iso4217" CHECK (price_currency ~ '^[A-Z]{3}$'::text);
-- Modify "topup_orders" table
ALTER TABLE "topup_orders" ADD CONSTRAINT "paid_currency_iso4217" CHECK (paid_currency ~ '^[A-Z]{3}$'::text);
