CREATE INDEX CONCURRENTLY "accounts_region" ON "accounts" ("region");
