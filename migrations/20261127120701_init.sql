-- Create "agent_configs" table
CREATE TABLE "agent_configs" ("id" character varying(25) NOT NULL, "ref_id" character varying(128) NOT NULL, "tenant_id" character varying(25) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "deleted_at" timestamptz NULL, "agent_type" character varying(100) NOT NULL, "name" character varying(200) NOT NULL, "model" character varying(100) NOT NULL, "system_prompt" text NULL, "parameters" jsonb NULL, "enabled" boolean NOT NULL DEFAULT true, "version" bigint NOT NULL DEFAULT 1, PRIMARY KEY ("id"), CONSTRAINT "version_positive" CHECK (version > 0));
-- Create index "agentconfig_tenant_id_agent_type" to table: "agent_configs"
CREATE INDEX "agentconfig_tenant_id_agent_type" ON "agent_configs" ("tenant_id", "agent_type");
-- Create index "agentconfig_tenant_id_ref_id" to table: "agent_configs"
CREATE UNIQUE INDEX "agentconfig_tenant_id_ref_id" ON "agent_configs" ("tenant_id", "ref_id");
-- Create "audit_logs" table
CREATE TABLE "audit_logs" ("id" character varying(25) NOT NULL, "ref_id" character varying(128) NOT NULL, "tenant_id" character varying(25) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "deleted_at" timestamptz NULL, "actor_type" character varying NOT NULL, "actor_id" character varying(100) NULL, "action" character varying(100) NOT NULL, "entity_type" character varying(100) NOT NULL, "entity_id" character varying(128) NULL, "changes" jsonb NULL, "request_id" character varying(128) NULL, "ip" character varying(45) NULL, "user_agent" character varying(500) NULL, PRIMARY KEY ("id"));
-- Create index "auditlog_tenant_id_created_at" to table: "audit_logs"
CREATE INDEX "auditlog_tenant_id_created_at" ON "audit_logs" ("tenant_id", "created_at");
-- Create index "auditlog_tenant_id_entity_type_entity_id" to table: "audit_logs"
CREATE INDEX "auditlog_tenant_id_entity_type_entity_id" ON "audit_logs" ("tenant_id", "entity_type", "entity_id");
-- Create index "auditlog_tenant_id_ref_id" to table: "audit_logs"
CREATE UNIQUE INDEX "auditlog_tenant_id_ref_id" ON "audit_logs" ("tenant_id", "ref_id");
-- Create "credit_balances" table
CREATE TABLE "credit_balances" ("id" character varying(25) NOT NULL, "ref_id" character varying(128) NOT NULL, "tenant_id" character varying(25) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "deleted_at" timestamptz NULL, "balance" bigint NOT NULL DEFAULT 0, PRIMARY KEY ("id"));
-- Create index "creditbalance_tenant_id" to table: "credit_balances"
CREATE UNIQUE INDEX "creditbalance_tenant_id" ON "credit_balances" ("tenant_id");
-- Create index "creditbalance_tenant_id_ref_id" to table: "credit_balances"
CREATE UNIQUE INDEX "creditbalance_tenant_id_ref_id" ON "credit_balances" ("tenant_id", "ref_id");
-- Create "users" table
CREATE TABLE "users" ("id" character varying(25) NOT NULL, "ref_id" character varying(128) NOT NULL, "tenant_id" character varying(25) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "deleted_at" timestamptz NULL, "email" character varying(320) NOT NULL, "name" character varying(200) NULL, "role" character varying NOT NULL DEFAULT 'member', "status" character varying NOT NULL DEFAULT 'invited', "last_login_at" timestamptz NULL, PRIMARY KEY ("id"), CONSTRAINT "user_email_lower" CHECK ((email)::text = lower((email)::text)));
-- Create index "user_tenant_id_email" to table: "users"
CREATE UNIQUE INDEX "user_tenant_id_email" ON "users" ("tenant_id", "email") WHERE (deleted_at IS NULL);
-- Create index "user_tenant_id_ref_id" to table: "users"
CREATE UNIQUE INDEX "user_tenant_id_ref_id" ON "users" ("tenant_id", "ref_id");
-- Create "campaigns" table
CREATE TABLE "campaigns" ("id" character varying(25) NOT NULL, "ref_id" character varying(128) NOT NULL, "tenant_id" character varying(25) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "deleted_at" timestamptz NULL, "budget_amount" bigint NULL, "budget_currency" character(3) NULL, "name" character varying(200) NOT NULL, "objective" text NULL, "status" character varying NOT NULL DEFAULT 'draft', "channels" jsonb NULL, "starts_at" timestamptz NULL, "ends_at" timestamptz NULL, "owner_id" character varying(25) NULL, PRIMARY KEY ("id"), CONSTRAINT "campaigns_users_owned_campaigns" FOREIGN KEY ("owner_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "budget_amount_non_negative" CHECK (budget_amount >= 0), CONSTRAINT "campaign_schedule_order" CHECK ((ends_at IS NULL) OR (starts_at IS NULL) OR (ends_at >= starts_at)));
-- Create index "campaign_tenant_id_ref_id" to table: "campaigns"
CREATE UNIQUE INDEX "campaign_tenant_id_ref_id" ON "campaigns" ("tenant_id", "ref_id");
-- Create index "campaign_tenant_id_status" to table: "campaigns"
CREATE INDEX "campaign_tenant_id_status" ON "campaigns" ("tenant_id", "status");
-- Create "activities" table
CREATE TABLE "activities" ("id" character varying(25) NOT NULL, "ref_id" character varying(128) NOT NULL, "tenant_id" character varying(25) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "deleted_at" timestamptz NULL, "type" character varying(100) NOT NULL, "title" character varying(200) NOT NULL, "status" character varying NOT NULL DEFAULT 'pending', "priority" bigint NOT NULL DEFAULT 0, "scheduled_at" timestamptz NULL, "started_at" timestamptz NULL, "completed_at" timestamptz NULL, "input" jsonb NULL, "output" jsonb NULL, "error" text NULL, "attempts" bigint NOT NULL DEFAULT 0, "agent_config_id" character varying(25) NULL, "campaign_id" character varying(25) NULL, "assignee_id" character varying(25) NULL, PRIMARY KEY ("id"), CONSTRAINT "activities_agent_configs_activities" FOREIGN KEY ("agent_config_id") REFERENCES "agent_configs" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "activities_campaigns_activities" FOREIGN KEY ("campaign_id") REFERENCES "campaigns" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "activities_users_assigned_activities" FOREIGN KEY ("assignee_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "attempts_non_negative" CHECK (attempts >= 0));
-- Create index "activity_tenant_id_campaign_id" to table: "activities"
CREATE INDEX "activity_tenant_id_campaign_id" ON "activities" ("tenant_id", "campaign_id");
-- Create index "activity_tenant_id_ref_id" to table: "activities"
CREATE UNIQUE INDEX "activity_tenant_id_ref_id" ON "activities" ("tenant_id", "ref_id");
-- Create index "activity_tenant_id_status_scheduled_at" to table: "activities"
CREATE INDEX "activity_tenant_id_status_scheduled_at" ON "activities" ("tenant_id", "status", "scheduled_at");
-- Create "topup_orders" table
CREATE TABLE "topup_orders" ("id" character varying(25) NOT NULL, "ref_id" character varying(128) NOT NULL, "tenant_id" character varying(25) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "deleted_at" timestamptz NULL, "paid_amount" bigint NOT NULL, "paid_currency" character(3) NOT NULL, "provider" character varying NOT NULL, "provider_order_id" character varying(128) NOT NULL, "credits" bigint NOT NULL, "status" character varying NOT NULL DEFAULT 'created', "paid_at" timestamptz NULL, PRIMARY KEY ("id"), CONSTRAINT "credits_positive" CHECK (credits > 0), CONSTRAINT "paid_amount_non_negative" CHECK (paid_amount >= 0));
-- Create index "topuporder_provider_provider_order_id" to table: "topup_orders"
CREATE UNIQUE INDEX "topuporder_provider_provider_order_id" ON "topup_orders" ("provider", "provider_order_id");
-- Create index "topuporder_tenant_id_ref_id" to table: "topup_orders"
CREATE UNIQUE INDEX "topuporder_tenant_id_ref_id" ON "topup_orders" ("tenant_id", "ref_id");
-- Create index "topuporder_tenant_id_status" to table: "topup_orders"
CREATE INDEX "topuporder_tenant_id_status" ON "topup_orders" ("tenant_id", "status");
-- Create "billing_events" table
CREATE TABLE "billing_events" ("id" character varying(25) NOT NULL, "ref_id" character varying(128) NOT NULL, "tenant_id" character varying(25) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "deleted_at" timestamptz NULL, "provider" character varying NOT NULL, "provider_event_id" character varying(128) NOT NULL, "type" character varying(100) NOT NULL, "payload" jsonb NULL, "status" character varying NOT NULL DEFAULT 'received', "processed_at" timestamptz NULL, "error" text NULL, "topup_order_id" character varying(25) NULL, PRIMARY KEY ("id"), CONSTRAINT "billing_events_topup_orders_billing_events" FOREIGN KEY ("topup_order_id") REFERENCES "topup_orders" ("id") ON UPDATE NO ACTION ON DELETE SET NULL);
-- Create index "billingevent_provider_provider_event_id" to table: "billing_events"
CREATE UNIQUE INDEX "billingevent_provider_provider_event_id" ON "billing_events" ("provider", "provider_event_id");
-- Create index "billingevent_tenant_id_created_at" to table: "billing_events"
CREATE INDEX "billingevent_tenant_id_created_at" ON "billing_events" ("tenant_id", "created_at");
-- Create index "billingevent_tenant_id_ref_id" to table: "billing_events"
CREATE UNIQUE INDEX "billingevent_tenant_id_ref_id" ON "billing_events" ("tenant_id", "ref_id");
-- Create "llm_call_logs" table
CREATE TABLE "llm_call_logs" ("id" character varying(25) NOT NULL, "ref_id" character varying(128) NOT NULL, "tenant_id" character varying(25) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "deleted_at" timestamptz NULL, "provider" character varying(100) NOT NULL, "model" character varying(100) NOT NULL, "prompt_tokens" bigint NOT NULL DEFAULT 0, "completion_tokens" bigint NOT NULL DEFAULT 0, "cost" bigint NOT NULL DEFAULT 0, "latency_ms" bigint NOT NULL DEFAULT 0, "status" character varying NOT NULL DEFAULT 'ok', "error" text NULL, "request_id" character varying(128) NULL, "activity_id" character varying(25) NULL, "agent_config_id" character varying(25) NULL, PRIMARY KEY ("id"), CONSTRAINT "llm_call_logs_activities_llm_calls" FOREIGN KEY ("activity_id") REFERENCES "activities" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "llm_call_logs_agent_configs_llm_calls" FOREIGN KEY ("agent_config_id") REFERENCES "agent_configs" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "completion_tokens_non_negative" CHECK (completion_tokens >= 0), CONSTRAINT "cost_non_negative" CHECK (cost >= 0), CONSTRAINT "latency_ms_non_negative" CHECK (latency_ms >= 0), CONSTRAINT "prompt_tokens_non_negative" CHECK (prompt_tokens >= 0));
-- Create index "llmcalllog_tenant_id_activity_id" to table: "llm_call_logs"
CREATE INDEX "llmcalllog_tenant_id_activity_id" ON "llm_call_logs" ("tenant_id", "activity_id");
-- Create index "llmcalllog_tenant_id_created_at" to table: "llm_call_logs"
CREATE INDEX "llmcalllog_tenant_id_created_at" ON "llm_call_logs" ("tenant_id", "created_at");
-- Create index "llmcalllog_tenant_id_ref_id" to table: "llm_call_logs"
CREATE UNIQUE INDEX "llmcalllog_tenant_id_ref_id" ON "llm_call_logs" ("tenant_id", "ref_id");
-- Create "credit_ledger_entries" table
CREATE TABLE "credit_ledger_entries" ("id" character varying(25) NOT NULL, "ref_id" character varying(128) NOT NULL, "tenant_id" character varying(25) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "deleted_at" timestamptz NULL, "kind" character varying NOT NULL, "amount" bigint NOT NULL, "balance_after" bigint NOT NULL, "idempotency_key" character varying(128) NOT NULL, "description" character varying(500) NULL, "actor" character varying(100) NULL, "metadata" jsonb NULL, "activity_id" character varying(25) NULL, "llm_call_id" character varying(25) NULL, "topup_order_id" character varying(25) NULL, PRIMARY KEY ("id"), CONSTRAINT "credit_ledger_entries_activities_ledger_entries" FOREIGN KEY ("activity_id") REFERENCES "activities" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "credit_ledger_entries_llm_call_logs_ledger_entry" FOREIGN KEY ("llm_call_id") REFERENCES "llm_call_logs" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "credit_ledger_entries_topup_orders_ledger_entries" FOREIGN KEY ("topup_order_id") REFERENCES "topup_orders" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "amount_non_zero" CHECK (amount <> 0), CONSTRAINT "balance_after_no_overdraw" CHECK ((amount > 0) OR ((kind)::text = 'usage'::text) OR (balance_after >= 0)));
-- Create index "credit_ledger_entries_llm_call_id_key" to table: "credit_ledger_entries"
CREATE UNIQUE INDEX "credit_ledger_entries_llm_call_id_key" ON "credit_ledger_entries" ("llm_call_id");
-- Create index "creditledgerentry_tenant_id_created_at" to table: "credit_ledger_entries"
CREATE INDEX "creditledgerentry_tenant_id_created_at" ON "credit_ledger_entries" ("tenant_id", "created_at");
-- Create index "creditledgerentry_tenant_id_idempotency_key" to table: "credit_ledger_entries"
CREATE UNIQUE INDEX "creditledgerentry_tenant_id_idempotency_key" ON "credit_ledger_entries" ("tenant_id", "idempotency_key");
-- Create index "creditledgerentry_tenant_id_ref_id" to table: "credit_ledger_entries"
CREATE UNIQUE INDEX "creditledgerentry_tenant_id_ref_id" ON "credit_ledger_entries" ("tenant_id", "ref_id");
-- Create "deliverables" table
CREATE TABLE "deliverables" ("id" character varying(25) NOT NULL, "ref_id" character varying(128) NOT NULL, "tenant_id" character varying(25) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "deleted_at" timestamptz NULL, "kind" character varying NOT NULL, "title" character varying(200) NOT NULL, "body" text NULL, "url" character varying(2048) NULL, "status" character varying NOT NULL DEFAULT 'draft', "version" bigint NOT NULL DEFAULT 1, "published_at" timestamptz NULL, "activity_id" character varying(25) NOT NULL, "campaign_id" character varying(25) NULL, PRIMARY KEY ("id"), CONSTRAINT "deliverables_activities_deliverables" FOREIGN KEY ("activity_id") REFERENCES "activities" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "deliverables_campaigns_deliverables" FOREIGN KEY ("campaign_id") REFERENCES "campaigns" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "version_positive" CHECK (version > 0));
-- Create index "deliverable_tenant_id_activity_id" to table: "deliverables"
CREATE INDEX "deliverable_tenant_id_activity_id" ON "deliverables" ("tenant_id", "activity_id");
-- Create index "deliverable_tenant_id_ref_id" to table: "deliverables"
CREATE UNIQUE INDEX "deliverable_tenant_id_ref_id" ON "deliverables" ("tenant_id", "ref_id");
-- Create index "deliverable_tenant_id_status" to table: "deliverables"
CREATE INDEX "deliverable_tenant_id_status" ON "deliverables" ("tenant_id", "status");
-- Create "dispatch_logs" table
CREATE TABLE "dispatch_logs" ("id" character varying(25) NOT NULL, "ref_id" character varying(128) NOT NULL, "tenant_id" character varying(25) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "deleted_at" timestamptz NULL, "provider" character varying(100) NOT NULL, "channel" character varying NOT NULL, "recipient" character varying(320) NOT NULL, "template" character varying(100) NULL, "status" character varying NOT NULL DEFAULT 'queued', "provider_message_id" character varying(128) NULL, "attempts" bigint NOT NULL DEFAULT 0, "error" text NULL, "sent_at" timestamptz NULL, "delivered_at" timestamptz NULL, "activity_id" character varying(25) NULL, PRIMARY KEY ("id"), CONSTRAINT "dispatch_logs_activities_dispatches" FOREIGN KEY ("activity_id") REFERENCES "activities" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "attempts_non_negative" CHECK (attempts >= 0));
-- Create index "dispatchlog_tenant_id_created_at" to table: "dispatch_logs"
CREATE INDEX "dispatchlog_tenant_id_created_at" ON "dispatch_logs" ("tenant_id", "created_at");
-- Create index "dispatchlog_tenant_id_ref_id" to table: "dispatch_logs"
CREATE UNIQUE INDEX "dispatchlog_tenant_id_ref_id" ON "dispatch_logs" ("tenant_id", "ref_id");
-- Create index "dispatchlog_tenant_id_status" to table: "dispatch_logs"
CREATE INDEX "dispatchlog_tenant_id_status" ON "dispatch_logs" ("tenant_id", "status");
-- Create "hitl_approvals" table
CREATE TABLE "hitl_approvals" ("id" character varying(25) NOT NULL, "ref_id" character varying(128) NOT NULL, "tenant_id" character varying(25) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "deleted_at" timestamptz NULL, "status" character varying NOT NULL DEFAULT 'pending', "comment" text NULL, "requested_at" timestamptz NOT NULL, "decided_at" timestamptz NULL, "expires_at" timestamptz NULL, "activity_id" character varying(25) NULL, "requested_by_agent_id" character varying(25) NULL, "deliverable_id" character varying(25) NULL, "decided_by_id" character varying(25) NULL, PRIMARY KEY ("id"), CONSTRAINT "hitl_approvals_activities_hitl_approvals" FOREIGN KEY ("activity_id") REFERENCES "activities" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "hitl_approvals_agent_configs_hitl_requests" FOREIGN KEY ("requested_by_agent_id") REFERENCES "agent_configs" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "hitl_approvals_deliverables_hitl_approvals" FOREIGN KEY ("deliverable_id") REFERENCES "deliverables" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "hitl_approvals_users_hitl_decisions" FOREIGN KEY ("decided_by_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE SET NULL);
-- Create index "hitlapproval_tenant_id_activity_id" to table: "hitl_approvals"
CREATE INDEX "hitlapproval_tenant_id_activity_id" ON "hitl_approvals" ("tenant_id", "activity_id");
-- Create index "hitlapproval_tenant_id_ref_id" to table: "hitl_approvals"
CREATE UNIQUE INDEX "hitlapproval_tenant_id_ref_id" ON "hitl_approvals" ("tenant_id", "ref_id");
-- Create index "hitlapproval_tenant_id_status_expires_at" to table: "hitl_approvals"
CREATE INDEX "hitlapproval_tenant_id_status_expires_at" ON "hitl_approvals" ("tenant_id", "status", "expires_at");
-- Create "credentials" table
CREATE TABLE "credentials" ("id" character varying(25) NOT NULL, "ref_id" character varying(128) NOT NULL, "tenant_id" character varying(25) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "deleted_at" timestamptz NULL, "kind" character varying NOT NULL, "provider" character varying(100) NOT NULL, "label" character varying(200) NULL, "secret_ciphertext" bytea NOT NULL, "key_id" character varying(100) NOT NULL, "expires_at" timestamptz NULL, "rotated_at" timestamptz NULL, PRIMARY KEY ("id"));
-- Create index "credential_tenant_id_provider" to table: "credentials"
CREATE INDEX "credential_tenant_id_provider" ON "credentials" ("tenant_id", "provider");
-- Create index "credential_tenant_id_ref_id" to table: "credentials"
CREATE UNIQUE INDEX "credential_tenant_id_ref_id" ON "credentials" ("tenant_id", "ref_id");
-- Create "integrations" table
CREATE TABLE "integrations" ("id" character varying(25) NOT NULL, "ref_id" character varying(128) NOT NULL, "tenant_id" character varying(25) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "deleted_at" timestamptz NULL, "provider" character varying(100) NOT NULL, "name" character varying(200) NOT NULL, "status" character varying NOT NULL DEFAULT 'disconnected', "scopes" jsonb NULL, "settings" jsonb NULL, "connected_at" timestamptz NULL, "last_synced_at" timestamptz NULL, "credential_id" character varying(25) NULL, PRIMARY KEY ("id"), CONSTRAINT "integrations_credentials_integrations" FOREIGN KEY ("credential_id") REFERENCES "credentials" ("id") ON UPDATE NO ACTION ON DELETE SET NULL);
-- Create index "integration_tenant_id_provider" to table: "integrations"
CREATE INDEX "integration_tenant_id_provider" ON "integrations" ("tenant_id", "provider");
-- Create index "integration_tenant_id_ref_id" to table: "integrations"
CREATE UNIQUE INDEX "integration_tenant_id_ref_id" ON "integrations" ("tenant_id", "ref_id");
-- Create "notification_providers" table
CREATE TABLE "notification_providers" ("id" character varying(25) NOT NULL, "ref_id" character varying(128) NOT NULL, "tenant_id" character varying(25) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "deleted_at" timestamptz NULL, "channel" character varying NOT NULL, "provider" character varying(100) NOT NULL, "display_name" character varying(200) NULL, "config" jsonb NULL, "enabled" boolean NOT NULL DEFAULT true, "is_default" boolean NOT NULL DEFAULT false, "credential_id" character varying(25) NULL, PRIMARY KEY ("id"), CONSTRAINT "notification_providers_credentials_notification_providers" FOREIGN KEY ("credential_id") REFERENCES "credentials" ("id") ON UPDATE NO ACTION ON DELETE SET NULL);
-- Create index "notificationprovider_one_default_per_channel" to table: "notification_providers"
CREATE UNIQUE INDEX "notificationprovider_one_default_per_channel" ON "notification_providers" ("tenant_id", "channel") WHERE (is_default AND (deleted_at IS NULL));
-- Create index "notificationprovider_tenant_id_ref_id" to table: "notification_providers"
CREATE UNIQUE INDEX "notificationprovider_tenant_id_ref_id" ON "notification_providers" ("tenant_id", "ref_id");
-- Create "plans" table
CREATE TABLE "plans" ("id" character varying(25) NOT NULL, "ref_id" character varying(128) NOT NULL, "tenant_id" character varying(25) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "deleted_at" timestamptz NULL, "price_amount" bigint NOT NULL, "price_currency" character(3) NOT NULL, "code" character varying(100) NOT NULL, "name" character varying(200) NOT NULL, "interval" character varying NOT NULL DEFAULT 'month', "included_credits" bigint NOT NULL DEFAULT 0, "limits" jsonb NULL, "active" boolean NOT NULL DEFAULT true, PRIMARY KEY ("id"), CONSTRAINT "included_credits_non_negative" CHECK (included_credits >= 0), CONSTRAINT "price_amount_non_negative" CHECK (price_amount >= 0));
-- Create index "plan_code" to table: "plans"
CREATE UNIQUE INDEX "plan_code" ON "plans" ("code");
-- Create index "plan_tenant_id_ref_id" to table: "plans"
CREATE UNIQUE INDEX "plan_tenant_id_ref_id" ON "plans" ("tenant_id", "ref_id");
-- Create "tenants" table
CREATE TABLE "tenants" ("id" character varying(25) NOT NULL, "ref_id" character varying(128) NOT NULL, "tenant_id" character varying(25) NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "deleted_at" timestamptz NULL, "name" character varying(200) NOT NULL, "slug" character varying(100) NOT NULL, "status" character varying NOT NULL DEFAULT 'active', "billing_email" character varying(320) NULL, "settings" jsonb NULL, "plan_id" character varying(25) NULL, PRIMARY KEY ("id"), CONSTRAINT "tenants_plans_tenants" FOREIGN KEY ("plan_id") REFERENCES "plans" ("id") ON UPDATE NO ACTION ON DELETE SET NULL);
-- Create index "tenant_slug" to table: "tenants"
CREATE UNIQUE INDEX "tenant_slug" ON "tenants" ("slug") WHERE (deleted_at IS NULL);
-- Create index "tenant_tenant_id_ref_id" to table: "tenants"
CREATE UNIQUE INDEX "tenant_tenant_id_ref_id" ON "tenants" ("tenant_id", "ref_id");
