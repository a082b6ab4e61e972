-- Create "tags" table
CREATE TABLE "tags" ("id" bigint NOT NULL, "name" character varying(50) NOT NULL, PRIMARY KEY ("id"));
-- A new table is empty: building its index locks nothing that matters.
CREATE UNIQUE INDEX "tags_name" ON "tags" ("name");
-- Create index "sessions_account_id" to table: "sessions"
CREATE INDEX "sessions_account_id" ON "sessions" ("account_id");
