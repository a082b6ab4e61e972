package ledger_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/leadmetrics/db/internal/testing/ledgertest"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
)

func batch(prefix string, n int) []ledger.LLMCall {
	calls := make([]ledger.LLMCall, n)
	for i := range calls {
		calls[i] = call(fmt.Sprintf("%s-%d", prefix, i), int64(i))
	}
	return calls
}

// COPY stamps the viewer's tenant; a batch with another tenant's row or
// link, or an already recorded ref, is rejected whole.
func TestIngestLLMCalls(t *testing.T) {
	env := ledgertest.New(t)
	tenant, ctx := env.Tenant(t, "")
	other, otherCtx := env.Tenant(t, "")
	n, err := env.Ledger.IngestLLMCalls(ctx, batch("a", 500))
	if err != nil || n != 500 {
		t.Fatalf("ingested %d: %v", n, err)
	}
	if got := countRows(t, env, "llm_call_logs", tenant); got != 500 {
		t.Fatalf("%d rows stamped with the tenant, want 500", got)
	}
	if _, err := env.DB.Exec(`INSERT INTO agent_configs (id, ref_id, tenant_id, created_at, updated_at, agent_type, name, model)
		VALUES ('agent-other', 'a', $1, now(), now(), 'x', 'x', 'x')`, other); err != nil {
		t.Fatal(err)
	}
	before := env.Fingerprint(t)
	foreignRow, foreignLink, dup := batch("b", 100), batch("c", 100), batch("d", 100)
	foreignRow[57].TenantID = other
	foreignLink[3].AgentConfigID = "agent-other"
	dup[99].RefID = "a-7"
	for name, c := range map[string]struct {
		calls []ledger.LLMCall
		want  error
	}{
		"another tenant's row":  {foreignRow, privacy.ErrTenantMismatch},
		"another tenant's link": {foreignLink, privacy.ErrCrossTenantRef},
		"already recorded":      {dup, ledger.ErrIdempotencyConflict},
		"invalid row":           {append(batch("e", 3), call("bad", -1)), ledger.ErrInvalidAmount},
	} {
		if _, err := env.Ledger.IngestLLMCalls(ctx, c.calls); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if env.Fingerprint(t) != before {
		t.Fatal("a rejected batch wrote rows")
	}
	if got := countRows(t, env, "llm_call_logs", other); got != 0 {
		t.Fatalf("other tenant has %d rows", got)
	}
	if _, err := env.Ledger.IngestLLMCalls(otherCtx, batch("a", 10)); err != nil {
		t.Fatalf("same refs in another tenant: %v", err)
	}
}
