-- Modify "accounts" table
ALTER TABLE "accounts" ADD COLUMN "region" character varying(10) NOT NULL;
