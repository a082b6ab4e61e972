package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent/creditledgerentry"
	"github.com/leadmetrics/db/ent/llmcalllog"
	"github.com/leadmetrics/db/input"
	"github.com/leadmetrics/db/privacy"
	"github.com/leadmetrics/db/retry"
)

// LLMCall is one call to a language model and what it cost.
type LLMCall struct {
	// RefID is the caller's stable id of the call (e.g. the provider's
	// request id): recording it again returns the first record. Required.
	RefID                          string
	Provider, Model                string
	PromptTokens, CompletionTokens int
	Cost                           int64 // credit minor units, >= 0
	LatencyMs                      int
	Status                         llmcalllog.Status // default ok
	Error                          string
	RequestID                      string
	ActivityID, AgentConfigID      string // optional, rows of the tenant
	Description                    string // of the usage entry

	// ID is generated when empty. TenantID, when set, must be the viewer's
	// tenant. CreatedAt (ingestion only) defaults to now.
	ID        string
	TenantID  string
	CreatedAt time.Time
}

// usageKeyPrefix derives the usage entry's idempotency key from the call.
const usageKeyPrefix = "llm:"

// UsageKey is the idempotency key of the usage debit of the call refID.
func UsageKey(refID string) string { return usageKeyPrefix + refID }

// validate checks a call against the columns of llm_call_logs and the
// viewer's tenant, and fills its defaults.
func (c *LLMCall) validate(tenant string) error {
	if c.TenantID != "" && c.TenantID != tenant {
		return fmt.Errorf("ledger: LLM call %q of tenant %q: %w", c.RefID, c.TenantID, privacy.ErrTenantMismatch)
	}
	if err := inputError(input.Fields("ledger.LLMCall", input.F("ID", c.ID), input.F("RefID", c.RefID),
		input.F("Provider", c.Provider), input.F("Model", c.Model), input.F("Status", c.Status),
		input.F("Error", c.Error), input.F("RequestID", c.RequestID), input.F("ActivityID", c.ActivityID),
		input.F("AgentConfigID", c.AgentConfigID), input.F("Description", c.Description))); err != nil {
		return err
	}
	if c.Status == "" {
		c.Status = llmcalllog.StatusOk
	}
	if c.ID == "" {
		c.ID = cuid.New()
	}
	switch {
	case c.RefID == "" || utf8.RuneCountInString(c.RefID) > maxKeyLen:
		return invalid(ErrInvalidKey, "LLM call ref id must have 1 to %d characters", maxKeyLen)
	case c.Provider == "" || c.Model == "" || utf8.RuneCountInString(c.Provider) > 100 || utf8.RuneCountInString(c.Model) > 100:
		return invalid(ErrInvalidInput, "LLM call %q: provider and model must have 1 to 100 characters", c.RefID)
	case c.Cost < 0:
		return invalid(ErrInvalidAmount, "LLM call %q: negative cost %d", c.RefID, c.Cost)
	case c.PromptTokens < 0 || c.CompletionTokens < 0 || c.LatencyMs < 0:
		return invalid(ErrInvalidInput, "LLM call %q: negative tokens or latency", c.RefID)
	case utf8.RuneCountInString(c.RequestID) > maxKeyLen || len(c.ID) > cuid.Length:
		return invalid(ErrInvalidInput, "LLM call %q: request id or id too long", c.RefID)
	case llmcalllog.StatusValidator(c.Status) != nil:
		return invalid(ErrInvalidInput, "LLM call %q: status %q", c.RefID, c.Status)
	}
	return nil
}

// args are the parameters $12.. of the posting statement with a call.
func (c *LLMCall) args() []any {
	return []any{c.ID, c.RefID, c.Provider, c.Model, c.PromptTokens, c.CompletionTokens, c.LatencyMs,
		string(c.Status), nullable(c.Error), nullable(c.RequestID), nullable(c.ActivityID), nullable(c.AgentConfigID)}
}

// RecordLLMCall stores the call and its usage debit in one transaction:
// both are written or neither. Concurrent callers share transactions (the
// ledger's Batcher, group commit): each returns once the transaction
// holding its call has committed, with its own result; Unbatched(ctx)
// writes the call alone. On Citus a batch is one delegated call per shard
// (shardbatch.go).
//
// Overdraft policy: the call already happened, so its cost is always
// recorded, even when it takes the balance below zero; refuse new work up
// front with CanSpend. A tenant viewer only; an inactive tenant gets
// privacy.ErrTenantInactive and nothing is written. Recording the same RefID again returns the first
// entry (Replayed) and writes nothing. A call that cost nothing is logged
// without a ledger entry (entry is nil).
func (l *Ledger) RecordLLMCall(ctx context.Context, c LLMCall) (callID string, entry *Entry, err error) {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return "", nil, err
	}
	if err := c.validate(tenant); err != nil {
		return "", nil, err
	}
	if c.Cost == 0 {
		// Idempotent on (tenant_id, ref_id): rerun after a failover.
		var id string
		_, err := retry.Do(ctx, func(ctx context.Context) (err error) {
			id, err = l.logFreeCall(ctx, tenant, &c)
			return err
		})
		return id, nil, err
	}
	p := Posting{
		Kind: creditledgerentry.KindUsage, Amount: -c.Cost, IdempotencyKey: UsageKey(c.RefID),
		Description: c.Description, ActivityID: c.ActivityID,
		Metadata: map[string]any{"provider": c.Provider, "model": c.Model,
			"prompt_tokens": c.PromptTokens, "completion_tokens": c.CompletionTokens},
	}
	var e *Entry
	if unbatched(ctx) {
		e, err = l.post(ctx, l.db, p, &c)
	} else {
		e, err = l.recordBatched(ctx, p, &c)
	}
	if err != nil {
		return "", nil, err
	}
	if e.LlmCallID == nil {
		return "", nil, invalid(ErrIdempotencyConflict, "key %q was posted without an LLM call", UsageKey(c.RefID))
	}
	return *e.LlmCallID, e, nil
}

// logFreeCall records a call without cost, idempotently on its ref id.
func (l *Ledger) logFreeCall(ctx context.Context, tenant string, c *LLMCall) (string, error) {
	links := `($10::varchar IS NULL OR EXISTS (SELECT 1 FROM activities WHERE id = $10 AND tenant_id = $1))
		AND ($11::varchar IS NULL OR EXISTS (SELECT 1 FROM agent_configs WHERE id = $11 AND tenant_id = $1))`
	var id string
	var linked, active bool
	var paid sql.NullInt64
	err := l.queryRowPoint(ctx, l.db, `WITH ok AS MATERIALIZED (SELECT `+links+` AS links, `+tenantGate("$1", false)+` AS active),
	ins AS (
		INSERT INTO llm_call_logs (id, ref_id, tenant_id, created_at, updated_at, provider, model,
			prompt_tokens, completion_tokens, cost, latency_ms, status, error, request_id, activity_id, agent_config_id)
		SELECT $12, $2, $1, now(), now(), $3, $4, $5, $6, 0, $7, $8, $9, $13, $10, $11 FROM ok WHERE ok.links AND ok.active
		ON CONFLICT (tenant_id, ref_id) DO NOTHING RETURNING id)
	SELECT coalesce((SELECT id FROM ins), (SELECT id FROM llm_call_logs WHERE tenant_id = $1 AND ref_id = $2), ''),
		(SELECT links FROM ok), (SELECT active FROM ok),
		(SELECT cost FROM llm_call_logs WHERE tenant_id = $1 AND ref_id = $2 AND NOT EXISTS (SELECT 1 FROM ins))`,
		tenant, c.RefID, c.Provider, c.Model, c.PromptTokens, c.CompletionTokens, c.LatencyMs, string(c.Status),
		nullable(c.Error), nullable(c.ActivityID), nullable(c.AgentConfigID), c.ID, nullable(c.RequestID)).Scan(&id, &linked, &active, &paid)
	switch {
	case err != nil:
		return "", dbError(err)
	case !active:
		return "", inactive(tenant)
	case !linked:
		return "", ErrInvalidLink
	case paid.Int64 != 0:
		return "", invalid(ErrIdempotencyConflict, "LLM call %q was recorded with a cost of %d", c.RefID, paid.Int64)
	case id == "":
		// Inserted by a concurrent call after this statement's snapshot.
		err = l.queryRowPoint(ctx, l.db, `SELECT id FROM llm_call_logs WHERE tenant_id = $1 AND ref_id = $2`,
			tenant, c.RefID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("ledger: LLM call %q neither inserted nor found", c.RefID)
		}
	}
	return id, dbError(err)
}
