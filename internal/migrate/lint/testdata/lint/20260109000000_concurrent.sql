-- atlas:txmode none

DROP INDEX CONCURRENTLY IF EXISTS "accounts_tier";
CREATE INDEX CONCURRENTLY "accounts_tier" ON "accounts" ("tier");
