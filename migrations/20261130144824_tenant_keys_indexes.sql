-- Tenant-leading keys (issue 9), step 1 of 3: build the unique indexes the
-- new primary keys take over, without blocking writes. The data already
-- satisfies them (ids are unique).
-- The old primary key's uniqueness of id alone moves to <table>_id_key. A failed build leaves an invalid index:
-- the DROP ... IF EXISTS makes the retry start clean.
-- atlas:txmode none

DROP INDEX CONCURRENTLY IF EXISTS "agent_configs_tenant_id_id";
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "agent_configs_tenant_id_id" ON "agent_configs" ("tenant_id", "id");
DROP INDEX CONCURRENTLY IF EXISTS "agent_configs_id_key";
-- Takes over from the old primary key (plain PostgreSQL only; see docs/SCALE.md).
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "agent_configs_id_key" ON "agent_configs" ("id");
DROP INDEX CONCURRENTLY IF EXISTS "audit_logs_tenant_id_id";
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "audit_logs_tenant_id_id" ON "audit_logs" ("tenant_id", "id");
DROP INDEX CONCURRENTLY IF EXISTS "audit_logs_id_key";
-- Takes over from the old primary key (plain PostgreSQL only; see docs/SCALE.md).
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "audit_logs_id_key" ON "audit_logs" ("id");
DROP INDEX CONCURRENTLY IF EXISTS "credit_balances_tenant_id_id";
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "credit_balances_tenant_id_id" ON "credit_balances" ("tenant_id", "id");
DROP INDEX CONCURRENTLY IF EXISTS "credit_balances_id_key";
-- Takes over from the old primary key (plain PostgreSQL only; see docs/SCALE.md).
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "credit_balances_id_key" ON "credit_balances" ("id");
DROP INDEX CONCURRENTLY IF EXISTS "users_tenant_id_id";
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "users_tenant_id_id" ON "users" ("tenant_id", "id");
DROP INDEX CONCURRENTLY IF EXISTS "users_id_key";
-- Takes over from the old primary key (plain PostgreSQL only; see docs/SCALE.md).
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "users_id_key" ON "users" ("id");
DROP INDEX CONCURRENTLY IF EXISTS "campaigns_tenant_id_id";
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "campaigns_tenant_id_id" ON "campaigns" ("tenant_id", "id");
DROP INDEX CONCURRENTLY IF EXISTS "campaigns_id_key";
-- Takes over from the old primary key (plain PostgreSQL only; see docs/SCALE.md).
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "campaigns_id_key" ON "campaigns" ("id");
DROP INDEX CONCURRENTLY IF EXISTS "activities_tenant_id_id";
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "activities_tenant_id_id" ON "activities" ("tenant_id", "id");
DROP INDEX CONCURRENTLY IF EXISTS "activities_id_key";
-- Takes over from the old primary key (plain PostgreSQL only; see docs/SCALE.md).
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "activities_id_key" ON "activities" ("id");
DROP INDEX CONCURRENTLY IF EXISTS "topup_orders_tenant_id_id";
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "topup_orders_tenant_id_id" ON "topup_orders" ("tenant_id", "id");
DROP INDEX CONCURRENTLY IF EXISTS "topup_orders_id_key";
-- Takes over from the old primary key (plain PostgreSQL only; see docs/SCALE.md).
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "topup_orders_id_key" ON "topup_orders" ("id");
DROP INDEX CONCURRENTLY IF EXISTS "billing_events_tenant_id_id";
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "billing_events_tenant_id_id" ON "billing_events" ("tenant_id", "id");
DROP INDEX CONCURRENTLY IF EXISTS "billing_events_id_key";
-- Takes over from the old primary key (plain PostgreSQL only; see docs/SCALE.md).
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "billing_events_id_key" ON "billing_events" ("id");
DROP INDEX CONCURRENTLY IF EXISTS "llm_call_logs_tenant_id_id";
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "llm_call_logs_tenant_id_id" ON "llm_call_logs" ("tenant_id", "id");
DROP INDEX CONCURRENTLY IF EXISTS "llm_call_logs_id_key";
-- Takes over from the old primary key (plain PostgreSQL only; see docs/SCALE.md).
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "llm_call_logs_id_key" ON "llm_call_logs" ("id");
DROP INDEX CONCURRENTLY IF EXISTS "credit_ledger_entries_tenant_id_id";
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "credit_ledger_entries_tenant_id_id" ON "credit_ledger_entries" ("tenant_id", "id");
DROP INDEX CONCURRENTLY IF EXISTS "credit_ledger_entries_id_key";
-- Takes over from the old primary key (plain PostgreSQL only; see docs/SCALE.md).
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "credit_ledger_entries_id_key" ON "credit_ledger_entries" ("id");
DROP INDEX CONCURRENTLY IF EXISTS "deliverables_tenant_id_id";
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "deliverables_tenant_id_id" ON "deliverables" ("tenant_id", "id");
DROP INDEX CONCURRENTLY IF EXISTS "deliverables_id_key";
-- Takes over from the old primary key (plain PostgreSQL only; see docs/SCALE.md).
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "deliverables_id_key" ON "deliverables" ("id");
DROP INDEX CONCURRENTLY IF EXISTS "dispatch_logs_tenant_id_id";
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "dispatch_logs_tenant_id_id" ON "dispatch_logs" ("tenant_id", "id");
DROP INDEX CONCURRENTLY IF EXISTS "dispatch_logs_id_key";
-- Takes over from the old primary key (plain PostgreSQL only; see docs/SCALE.md).
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "dispatch_logs_id_key" ON "dispatch_logs" ("id");
DROP INDEX CONCURRENTLY IF EXISTS "hitl_approvals_tenant_id_id";
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "hitl_approvals_tenant_id_id" ON "hitl_approvals" ("tenant_id", "id");
DROP INDEX CONCURRENTLY IF EXISTS "hitl_approvals_id_key";
-- Takes over from the old primary key (plain PostgreSQL only; see docs/SCALE.md).
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "hitl_approvals_id_key" ON "hitl_approvals" ("id");
DROP INDEX CONCURRENTLY IF EXISTS "credentials_tenant_id_id";
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "credentials_tenant_id_id" ON "credentials" ("tenant_id", "id");
DROP INDEX CONCURRENTLY IF EXISTS "credentials_id_key";
-- Takes over from the old primary key (plain PostgreSQL only; see docs/SCALE.md).
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "credentials_id_key" ON "credentials" ("id");
DROP INDEX CONCURRENTLY IF EXISTS "integrations_tenant_id_id";
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "integrations_tenant_id_id" ON "integrations" ("tenant_id", "id");
DROP INDEX CONCURRENTLY IF EXISTS "integrations_id_key";
-- Takes over from the old primary key (plain PostgreSQL only; see docs/SCALE.md).
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "integrations_id_key" ON "integrations" ("id");
DROP INDEX CONCURRENTLY IF EXISTS "notification_providers_tenant_id_id";
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "notification_providers_tenant_id_id" ON "notification_providers" ("tenant_id", "id");
DROP INDEX CONCURRENTLY IF EXISTS "notification_providers_id_key";
-- Takes over from the old primary key (plain PostgreSQL only; see docs/SCALE.md).
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "notification_providers_id_key" ON "notification_providers" ("id");
DROP INDEX CONCURRENTLY IF EXISTS "credit_ledger_entries_tenant_id_llm_call_id_key";
-- llm_call_id is already unique on its own, so it is unique per tenant.
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "credit_ledger_entries_tenant_id_llm_call_id_key" ON "credit_ledger_entries" ("tenant_id", "llm_call_id");
-- PostgreSQL checks unique indexes in creation order: rebuild the one
-- balance per tenant key after the id keys, so a create whose id is taken
-- still reports the id (input.IDConflict) before the second balance.
DROP INDEX CONCURRENTLY IF EXISTS "creditbalance_tenant_id_rebuilt";
-- atlas:nolint MF101
CREATE UNIQUE INDEX CONCURRENTLY "creditbalance_tenant_id_rebuilt" ON "credit_balances" ("tenant_id");
DROP INDEX CONCURRENTLY IF EXISTS "creditbalance_tenant_id";
-- A rename, no build (the index was built concurrently above).
-- atlas:nolint LM101
ALTER INDEX "creditbalance_tenant_id_rebuilt" RENAME TO "creditbalance_tenant_id";
