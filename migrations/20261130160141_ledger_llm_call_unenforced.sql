-- A ledger entry's llm_call_id is history: the entry is kept forever and
-- never rewritten, the LLM call log it bills is purged after its retention
-- period (package retention), so the database no longer ties the two
-- (internal/tenantkeys.Unenforced). The layer checks the link when the
-- entry is written; the unique (tenant_id, llm_call_id) index stays and
-- still bills a call once.
-- atlas:nolint CD101
ALTER TABLE "credit_ledger_entries" DROP CONSTRAINT "credit_ledger_entries_llm_call_logs_ledger_entry";
