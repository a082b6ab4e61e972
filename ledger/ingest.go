package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/leadmetrics/db/input"
	"github.com/leadmetrics/db/retry"
)

// llmCallCols are the columns the bulk path copies.
var llmCallCols = []string{"id", "ref_id", "tenant_id", "created_at", "updated_at", "provider", "model",
	"prompt_tokens", "completion_tokens", "cost", "latency_ms", "status", "error", "request_id",
	"activity_id", "agent_config_id"}

// IngestLLMCalls stores a batch of LLM call logs with PostgreSQL COPY, the
// fastest path, for logs only: it posts no usage (use RecordLLMCall for
// calls still to be charged). Every row is stamped with the tenant of ctx;
// a row naming another tenant, or linking another tenant's activity or
// agent config, rejects the whole batch before anything is written. COPY
// is all or nothing: a ref id already recorded fails the batch with
// ErrIdempotencyConflict. A batch is not rerun after a lost connection (a
// rerun of a committed batch would fail on its ref ids): when the COPY was
// sent and the connection lost, the error is a *retry.OutcomeUnknownError;
// look the ref ids up before sending it again.
func (l *Ledger) IngestLLMCalls(ctx context.Context, calls []LLMCall) (int64, error) {
	tenant, err := tenantOf(ctx)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	activities, agents := map[string]bool{}, map[string]bool{}
	for i := range calls {
		c := &calls[i]
		if err := c.validate(tenant); err != nil {
			return 0, fmt.Errorf("row %d: %w", i, err)
		}
		if c.CreatedAt.IsZero() {
			c.CreatedAt = now
		}
		if c.ActivityID != "" {
			activities[c.ActivityID] = true
		}
		if c.AgentConfigID != "" {
			agents[c.AgentConfigID] = true
		}
	}
	if err := l.ownsAll(ctx, tenant, activities, agents); err != nil {
		return 0, err
	}
	// One query per batch: COPY cannot carry the gate.
	var active bool
	if err := l.db.QueryRowContext(ctx, `SELECT `+tenantGate("$1", false), tenant).Scan(&active); err != nil {
		return 0, err
	}
	if !active {
		return 0, inactive(tenant)
	}
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	var n int64
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("ledger: bulk ingestion needs the pgx driver (db.OpenDB)")
		}
		n, err = sc.Conn().CopyFrom(ctx, pgx.Identifier{"llm_call_logs"}, llmCallCols,
			&callSource{calls: calls, tenant: tenant, now: now, i: -1})
		return err
	})
	if idErr := input.IDConflict(err); idErr != nil {
		return 0, idErr
	}
	var pgErr *pgconn.PgError
	// Citus reports a worker's unique violation during COPY as XX000.
	if errors.As(err, &pgErr) && (pgErr.Code == "23505" ||
		pgErr.Code == "XX000" && strings.HasPrefix(pgErr.Message, "duplicate key value violates unique constraint")) {
		return 0, invalid(ErrIdempotencyConflict, "batch holds an LLM call already recorded, nothing ingested: %s", pgErr.Detail)
	}
	if err != nil {
		return 0, retry.Unknown("COPY llm_call_logs", err)
	}
	return n, nil
}

// ownsAll checks that every linked activity and agent config is a row of
// the tenant: one query per kind of link present in the batch.
func (l *Ledger) ownsAll(ctx context.Context, tenant string, activities, agents map[string]bool) error {
	for table, ids := range map[string]map[string]bool{"activities": activities, "agent_configs": agents} {
		if len(ids) == 0 {
			continue
		}
		list := make([]string, 0, len(ids))
		for id := range ids {
			list = append(list, id)
		}
		var n int
		if err := l.db.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE tenant_id = $1 AND id = ANY($2)`,
			tenant, list).Scan(&n); err != nil {
			return err
		}
		if n != len(list) {
			return fmt.Errorf("%w (%s)", ErrInvalidLink, table)
		}
	}
	return nil
}

// callSource feeds COPY one row at a time, reusing one value slice.
type callSource struct {
	calls  []LLMCall
	tenant string
	now    time.Time
	i      int
	row    [16]any
}

func (s *callSource) Next() bool { s.i++; return s.i < len(s.calls) }
func (s *callSource) Err() error { return nil }

func (s *callSource) Values() ([]any, error) {
	c := &s.calls[s.i]
	s.row = [16]any{c.ID, c.RefID, s.tenant, c.CreatedAt, s.now, c.Provider, c.Model,
		int64(c.PromptTokens), int64(c.CompletionTokens), c.Cost, int64(c.LatencyMs), string(c.Status),
		orNil(c.Error), orNil(c.RequestID), orNil(c.ActivityID), orNil(c.AgentConfigID)}
	return s.row[:], nil
}

func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}
