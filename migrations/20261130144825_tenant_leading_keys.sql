-- Tenant-leading keys (issue 9), step 2 of 3: primary keys (tenant_id, id)
-- on the indexes step 1 built (no scan, no index build: short
-- ACCESS EXCLUSIVE locks), foreign keys (tenant_id, x_id) -> (tenant_id, id)
-- added NOT VALID (no scan here; step 3 validates them without blocking
-- writes). The old foreign keys go first: they depend on the old keys.
-- The new keys only narrow the old ones (same id, same tenant: the
-- ownership hooks kept the tenants equal), so existing rows satisfy them.

-- Replaced below by the tenant-leading key.
-- atlas:nolint CD101
ALTER TABLE "campaigns" DROP CONSTRAINT "campaigns_users_owned_campaigns";
-- Replaced below by the tenant-leading key.
-- atlas:nolint CD101
ALTER TABLE "activities" DROP CONSTRAINT "activities_agent_configs_activities";
-- Replaced below by the tenant-leading key.
-- atlas:nolint CD101
ALTER TABLE "activities" DROP CONSTRAINT "activities_campaigns_activities";
-- Replaced below by the tenant-leading key.
-- atlas:nolint CD101
ALTER TABLE "activities" DROP CONSTRAINT "activities_users_assigned_activities";
-- Replaced below by the tenant-leading key.
-- atlas:nolint CD101
ALTER TABLE "billing_events" DROP CONSTRAINT "billing_events_topup_orders_billing_events";
-- Replaced below by the tenant-leading key.
-- atlas:nolint CD101
ALTER TABLE "llm_call_logs" DROP CONSTRAINT "llm_call_logs_activities_llm_calls";
-- Replaced below by the tenant-leading key.
-- atlas:nolint CD101
ALTER TABLE "llm_call_logs" DROP CONSTRAINT "llm_call_logs_agent_configs_llm_calls";
-- Replaced below by the tenant-leading key.
-- atlas:nolint CD101
ALTER TABLE "credit_ledger_entries" DROP CONSTRAINT "credit_ledger_entries_activities_ledger_entries";
-- Replaced below by the tenant-leading key.
-- atlas:nolint CD101
ALTER TABLE "credit_ledger_entries" DROP CONSTRAINT "credit_ledger_entries_llm_call_logs_ledger_entry";
-- Replaced below by the tenant-leading key.
-- atlas:nolint CD101
ALTER TABLE "credit_ledger_entries" DROP CONSTRAINT "credit_ledger_entries_topup_orders_ledger_entries";
-- Replaced below by the tenant-leading key.
-- atlas:nolint CD101
ALTER TABLE "deliverables" DROP CONSTRAINT "deliverables_activities_deliverables";
-- Replaced below by the tenant-leading key.
-- atlas:nolint CD101
ALTER TABLE "deliverables" DROP CONSTRAINT "deliverables_campaigns_deliverables";
-- Replaced below by the tenant-leading key.
-- atlas:nolint CD101
ALTER TABLE "dispatch_logs" DROP CONSTRAINT "dispatch_logs_activities_dispatches";
-- Replaced below by the tenant-leading key.
-- atlas:nolint CD101
ALTER TABLE "hitl_approvals" DROP CONSTRAINT "hitl_approvals_activities_hitl_approvals";
-- Replaced below by the tenant-leading key.
-- atlas:nolint CD101
ALTER TABLE "hitl_approvals" DROP CONSTRAINT "hitl_approvals_agent_configs_hitl_requests";
-- Replaced below by the tenant-leading key.
-- atlas:nolint CD101
ALTER TABLE "hitl_approvals" DROP CONSTRAINT "hitl_approvals_deliverables_hitl_approvals";
-- Replaced below by the tenant-leading key.
-- atlas:nolint CD101
ALTER TABLE "hitl_approvals" DROP CONSTRAINT "hitl_approvals_users_hitl_decisions";
-- Replaced below by the tenant-leading key.
-- atlas:nolint CD101
ALTER TABLE "integrations" DROP CONSTRAINT "integrations_credentials_integrations";
-- Replaced below by the tenant-leading key.
-- atlas:nolint CD101
ALTER TABLE "notification_providers" DROP CONSTRAINT "notification_providers_credentials_notification_providers";
ALTER TABLE "agent_configs" DROP CONSTRAINT "agent_configs_pkey";
ALTER TABLE "agent_configs" ADD CONSTRAINT "agent_configs_pkey" PRIMARY KEY USING INDEX "agent_configs_tenant_id_id";
ALTER TABLE "audit_logs" DROP CONSTRAINT "audit_logs_pkey";
ALTER TABLE "audit_logs" ADD CONSTRAINT "audit_logs_pkey" PRIMARY KEY USING INDEX "audit_logs_tenant_id_id";
ALTER TABLE "credit_balances" DROP CONSTRAINT "credit_balances_pkey";
ALTER TABLE "credit_balances" ADD CONSTRAINT "credit_balances_pkey" PRIMARY KEY USING INDEX "credit_balances_tenant_id_id";
ALTER TABLE "users" DROP CONSTRAINT "users_pkey";
ALTER TABLE "users" ADD CONSTRAINT "users_pkey" PRIMARY KEY USING INDEX "users_tenant_id_id";
ALTER TABLE "campaigns" DROP CONSTRAINT "campaigns_pkey";
ALTER TABLE "campaigns" ADD CONSTRAINT "campaigns_pkey" PRIMARY KEY USING INDEX "campaigns_tenant_id_id";
ALTER TABLE "activities" DROP CONSTRAINT "activities_pkey";
ALTER TABLE "activities" ADD CONSTRAINT "activities_pkey" PRIMARY KEY USING INDEX "activities_tenant_id_id";
ALTER TABLE "topup_orders" DROP CONSTRAINT "topup_orders_pkey";
ALTER TABLE "topup_orders" ADD CONSTRAINT "topup_orders_pkey" PRIMARY KEY USING INDEX "topup_orders_tenant_id_id";
ALTER TABLE "billing_events" DROP CONSTRAINT "billing_events_pkey";
ALTER TABLE "billing_events" ADD CONSTRAINT "billing_events_pkey" PRIMARY KEY USING INDEX "billing_events_tenant_id_id";
ALTER TABLE "llm_call_logs" DROP CONSTRAINT "llm_call_logs_pkey";
ALTER TABLE "llm_call_logs" ADD CONSTRAINT "llm_call_logs_pkey" PRIMARY KEY USING INDEX "llm_call_logs_tenant_id_id";
ALTER TABLE "credit_ledger_entries" DROP CONSTRAINT "credit_ledger_entries_pkey";
ALTER TABLE "credit_ledger_entries" ADD CONSTRAINT "credit_ledger_entries_pkey" PRIMARY KEY USING INDEX "credit_ledger_entries_tenant_id_id";
ALTER TABLE "deliverables" DROP CONSTRAINT "deliverables_pkey";
ALTER TABLE "deliverables" ADD CONSTRAINT "deliverables_pkey" PRIMARY KEY USING INDEX "deliverables_tenant_id_id";
ALTER TABLE "dispatch_logs" DROP CONSTRAINT "dispatch_logs_pkey";
ALTER TABLE "dispatch_logs" ADD CONSTRAINT "dispatch_logs_pkey" PRIMARY KEY USING INDEX "dispatch_logs_tenant_id_id";
ALTER TABLE "hitl_approvals" DROP CONSTRAINT "hitl_approvals_pkey";
ALTER TABLE "hitl_approvals" ADD CONSTRAINT "hitl_approvals_pkey" PRIMARY KEY USING INDEX "hitl_approvals_tenant_id_id";
ALTER TABLE "credentials" DROP CONSTRAINT "credentials_pkey";
ALTER TABLE "credentials" ADD CONSTRAINT "credentials_pkey" PRIMARY KEY USING INDEX "credentials_tenant_id_id";
ALTER TABLE "integrations" DROP CONSTRAINT "integrations_pkey";
ALTER TABLE "integrations" ADD CONSTRAINT "integrations_pkey" PRIMARY KEY USING INDEX "integrations_tenant_id_id";
ALTER TABLE "notification_providers" DROP CONSTRAINT "notification_providers_pkey";
ALTER TABLE "notification_providers" ADD CONSTRAINT "notification_providers_pkey" PRIMARY KEY USING INDEX "notification_providers_tenant_id_id";
DROP INDEX "credit_ledger_entries_llm_call_id_key";
ALTER TABLE "campaigns" ADD CONSTRAINT "campaigns_users_owned_campaigns" FOREIGN KEY ("tenant_id", "owner_id") REFERENCES "users" ("tenant_id", "id") ON UPDATE NO ACTION ON DELETE NO ACTION NOT VALID;
ALTER TABLE "activities" ADD CONSTRAINT "activities_agent_configs_activities" FOREIGN KEY ("tenant_id", "agent_config_id") REFERENCES "agent_configs" ("tenant_id", "id") ON UPDATE NO ACTION ON DELETE NO ACTION NOT VALID;
ALTER TABLE "activities" ADD CONSTRAINT "activities_campaigns_activities" FOREIGN KEY ("tenant_id", "campaign_id") REFERENCES "campaigns" ("tenant_id", "id") ON UPDATE NO ACTION ON DELETE NO ACTION NOT VALID;
ALTER TABLE "activities" ADD CONSTRAINT "activities_users_assigned_activities" FOREIGN KEY ("tenant_id", "assignee_id") REFERENCES "users" ("tenant_id", "id") ON UPDATE NO ACTION ON DELETE NO ACTION NOT VALID;
ALTER TABLE "billing_events" ADD CONSTRAINT "billing_events_topup_orders_billing_events" FOREIGN KEY ("tenant_id", "topup_order_id") REFERENCES "topup_orders" ("tenant_id", "id") ON UPDATE NO ACTION ON DELETE NO ACTION NOT VALID;
ALTER TABLE "llm_call_logs" ADD CONSTRAINT "llm_call_logs_activities_llm_calls" FOREIGN KEY ("tenant_id", "activity_id") REFERENCES "activities" ("tenant_id", "id") ON UPDATE NO ACTION ON DELETE NO ACTION NOT VALID;
ALTER TABLE "llm_call_logs" ADD CONSTRAINT "llm_call_logs_agent_configs_llm_calls" FOREIGN KEY ("tenant_id", "agent_config_id") REFERENCES "agent_configs" ("tenant_id", "id") ON UPDATE NO ACTION ON DELETE NO ACTION NOT VALID;
ALTER TABLE "credit_ledger_entries" ADD CONSTRAINT "credit_ledger_entries_activities_ledger_entries" FOREIGN KEY ("tenant_id", "activity_id") REFERENCES "activities" ("tenant_id", "id") ON UPDATE NO ACTION ON DELETE NO ACTION NOT VALID;
ALTER TABLE "credit_ledger_entries" ADD CONSTRAINT "credit_ledger_entries_llm_call_logs_ledger_entry" FOREIGN KEY ("tenant_id", "llm_call_id") REFERENCES "llm_call_logs" ("tenant_id", "id") ON UPDATE NO ACTION ON DELETE NO ACTION NOT VALID;
ALTER TABLE "credit_ledger_entries" ADD CONSTRAINT "credit_ledger_entries_topup_orders_ledger_entries" FOREIGN KEY ("tenant_id", "topup_order_id") REFERENCES "topup_orders" ("tenant_id", "id") ON UPDATE NO ACTION ON DELETE NO ACTION NOT VALID;
ALTER TABLE "deliverables" ADD CONSTRAINT "deliverables_activities_deliverables" FOREIGN KEY ("tenant_id", "activity_id") REFERENCES "activities" ("tenant_id", "id") ON UPDATE NO ACTION ON DELETE NO ACTION NOT VALID;
ALTER TABLE "deliverables" ADD CONSTRAINT "deliverables_campaigns_deliverables" FOREIGN KEY ("tenant_id", "campaign_id") REFERENCES "campaigns" ("tenant_id", "id") ON UPDATE NO ACTION ON DELETE NO ACTION NOT VALID;
ALTER TABLE "dispatch_logs" ADD CONSTRAINT "dispatch_logs_activities_dispatches" FOREIGN KEY ("tenant_id", "activity_id") REFERENCES "activities" ("tenant_id", "id") ON UPDATE NO ACTION ON DELETE NO ACTION NOT VALID;
ALTER TABLE "hitl_approvals" ADD CONSTRAINT "hitl_approvals_activities_hitl_approvals" FOREIGN KEY ("tenant_id", "activity_id") REFERENCES "activities" ("tenant_id", "id") ON UPDATE NO ACTION ON DELETE NO ACTION NOT VALID;
ALTER TABLE "hitl_approvals" ADD CONSTRAINT "hitl_approvals_agent_configs_hitl_requests" FOREIGN KEY ("tenant_id", "requested_by_agent_id") REFERENCES "agent_configs" ("tenant_id", "id") ON UPDATE NO ACTION ON DELETE NO ACTION NOT VALID;
ALTER TABLE "hitl_approvals" ADD CONSTRAINT "hitl_approvals_deliverables_hitl_approvals" FOREIGN KEY ("tenant_id", "deliverable_id") REFERENCES "deliverables" ("tenant_id", "id") ON UPDATE NO ACTION ON DELETE NO ACTION NOT VALID;
ALTER TABLE "hitl_approvals" ADD CONSTRAINT "hitl_approvals_users_hitl_decisions" FOREIGN KEY ("tenant_id", "decided_by_id") REFERENCES "users" ("tenant_id", "id") ON UPDATE NO ACTION ON DELETE NO ACTION NOT VALID;
ALTER TABLE "integrations" ADD CONSTRAINT "integrations_credentials_integrations" FOREIGN KEY ("tenant_id", "credential_id") REFERENCES "credentials" ("tenant_id", "id") ON UPDATE NO ACTION ON DELETE NO ACTION NOT VALID;
ALTER TABLE "notification_providers" ADD CONSTRAINT "notification_providers_credentials_notification_providers" FOREIGN KEY ("tenant_id", "credential_id") REFERENCES "credentials" ("tenant_id", "id") ON UPDATE NO ACTION ON DELETE NO ACTION NOT VALID;
