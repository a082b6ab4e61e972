-- Tenant-leading keys (issue 9), step 3 of 3: validate the foreign keys of
-- step 2. VALIDATE takes SHARE UPDATE EXCLUSIVE: reads and writes go on.
-- Each statement commits on its own; a retry resumes at the failed one.
-- atlas:txmode none

ALTER TABLE "campaigns" VALIDATE CONSTRAINT "campaigns_users_owned_campaigns";
ALTER TABLE "activities" VALIDATE CONSTRAINT "activities_agent_configs_activities";
ALTER TABLE "activities" VALIDATE CONSTRAINT "activities_campaigns_activities";
ALTER TABLE "activities" VALIDATE CONSTRAINT "activities_users_assigned_activities";
ALTER TABLE "billing_events" VALIDATE CONSTRAINT "billing_events_topup_orders_billing_events";
ALTER TABLE "llm_call_logs" VALIDATE CONSTRAINT "llm_call_logs_activities_llm_calls";
ALTER TABLE "llm_call_logs" VALIDATE CONSTRAINT "llm_call_logs_agent_configs_llm_calls";
ALTER TABLE "credit_ledger_entries" VALIDATE CONSTRAINT "credit_ledger_entries_activities_ledger_entries";
ALTER TABLE "credit_ledger_entries" VALIDATE CONSTRAINT "credit_ledger_entries_llm_call_logs_ledger_entry";
ALTER TABLE "credit_ledger_entries" VALIDATE CONSTRAINT "credit_ledger_entries_topup_orders_ledger_entries";
ALTER TABLE "deliverables" VALIDATE CONSTRAINT "deliverables_activities_deliverables";
ALTER TABLE "deliverables" VALIDATE CONSTRAINT "deliverables_campaigns_deliverables";
ALTER TABLE "dispatch_logs" VALIDATE CONSTRAINT "dispatch_logs_activities_dispatches";
ALTER TABLE "hitl_approvals" VALIDATE CONSTRAINT "hitl_approvals_activities_hitl_approvals";
ALTER TABLE "hitl_approvals" VALIDATE CONSTRAINT "hitl_approvals_agent_configs_hitl_requests";
ALTER TABLE "hitl_approvals" VALIDATE CONSTRAINT "hitl_approvals_deliverables_hitl_approvals";
ALTER TABLE "hitl_approvals" VALIDATE CONSTRAINT "hitl_approvals_users_hitl_decisions";
ALTER TABLE "integrations" VALIDATE CONSTRAINT "integrations_credentials_integrations";
ALTER TABLE "notification_providers" VALIDATE CONSTRAINT "notification_providers_credentials_notification_providers";
