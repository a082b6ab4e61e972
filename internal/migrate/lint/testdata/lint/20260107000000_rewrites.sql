-- A volatile default: every row gets its own value, so the table is rewritten.
ALTER TABLE "accounts" ADD COLUMN "token" uuid NOT NULL DEFAULT gen_random_uuid();
-- now() is stable: PostgreSQL 11+ stores it once, no rewrite.
ALTER TABLE "accounts" ADD COLUMN "created_at" timestamptz NOT NULL DEFAULT now();
-- integer to bigint rewrites the table.
ALTER TABLE "sessions" ALTER COLUMN "duration" TYPE bigint;
-- varchar(100) to varchar(200) does not.
ALTER TABLE "accounts" ALTER COLUMN "name" TYPE character varying(200);
ALTER TABLE "accounts" RENAME COLUMN "name" TO "display_name";
