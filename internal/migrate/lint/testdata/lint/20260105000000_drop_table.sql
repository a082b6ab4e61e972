-- Drop "old_reports" table
DROP TABLE "old_reports";
