-- The score column was never read (checked in production on 2026-01-05).
-- atlas:nolint DS103
ALTER TABLE "accounts" DROP COLUMN "score", ADD COLUMN "tier" integer NOT NULL;
