-- atlas:txmode none

-- Issue 13: the work queue and live counts served by partial indexes, bounded
-- failed-dispatch and pending-approval lists, and no second unique index on
-- the ledger's idempotency key (postings conflict on (tenant_id, ref_id),
-- which holds the same key).
DROP INDEX CONCURRENTLY IF EXISTS "activity_live";
CREATE INDEX CONCURRENTLY "activity_live" ON "activities" ("tenant_id", "id") WHERE (deleted_at IS NULL);
DROP INDEX CONCURRENTLY IF EXISTS "activity_work_queue";
CREATE INDEX CONCURRENTLY "activity_work_queue" ON "activities" ("tenant_id", "scheduled_at") WHERE ((((status)::text = 'pending'::text) OR ((status)::text = 'queued'::text)) AND (deleted_at IS NULL));
DROP INDEX CONCURRENTLY IF EXISTS "dispatchlog_failed";
CREATE INDEX CONCURRENTLY "dispatchlog_failed" ON "dispatch_logs" ("tenant_id", "created_at") WHERE (((status)::text = 'failed'::text) AND (deleted_at IS NULL));
DROP INDEX CONCURRENTLY IF EXISTS "hitlapproval_pending";
CREATE INDEX CONCURRENTLY "hitlapproval_pending" ON "hitl_approvals" ("tenant_id", "requested_at") WHERE (((status)::text = 'pending'::text) AND (deleted_at IS NULL));
DROP INDEX CONCURRENTLY IF EXISTS "creditledgerentry_tenant_id_idempotency_key";
