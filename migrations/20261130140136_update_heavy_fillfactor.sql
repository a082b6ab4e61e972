-- Issue 13: room on each page for updated rows, so that status changes,
-- soft deletes and balance updates stay HOT (no new index entries). Applies
-- to pages written from now on; existing pages fill as they are rewritten.
ALTER TABLE "activities" SET (fillfactor = 80);
ALTER TABLE "dispatch_logs" SET (fillfactor = 85);
ALTER TABLE "hitl_approvals" SET (fillfactor = 85);
ALTER TABLE "credit_balances" SET (fillfactor = 50);
