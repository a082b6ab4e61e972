-- Modify "credit_balances" table
ALTER TABLE "credit_balances" ADD COLUMN "last_seq" bigint NOT NULL DEFAULT 0;
-- Modify "credit_ledger_entries" table
ALTER TABLE "credit_ledger_entries" ADD CONSTRAINT "seq_positive" CHECK (seq > 0), ADD COLUMN "seq" bigint NOT NULL;
-- Create index "creditledgerentry_tenant_id_seq" to table: "credit_ledger_entries"
CREATE UNIQUE INDEX "creditledgerentry_tenant_id_seq" ON "credit_ledger_entries" ("tenant_id", "seq");
