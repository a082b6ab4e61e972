-- Modify "credit_balances" table
ALTER TABLE "credit_balances" ADD COLUMN "last_seq" bigint NOT NULL DEFAULT 0;
-- Modify "credit_ledger_entries" table
-- No ledger entry exists anywhere before this migration: the ledger package
-- that writes them ships with it. The table is empty, so the NOT NULL column
-- without default cannot fail.
-- atlas:nolint MF103
ALTER TABLE "credit_ledger_entries" ADD CONSTRAINT "seq_positive" CHECK (seq > 0), ADD COLUMN "seq" bigint NOT NULL;
-- Create index "creditledgerentry_tenant_id_seq" to table: "credit_ledger_entries"
-- Empty table (see above): no duplicates, and the build takes no time.
-- atlas:nolint MF101 LM101
CREATE UNIQUE INDEX "creditledgerentry_tenant_id_seq" ON "credit_ledger_entries" ("tenant_id", "seq");
