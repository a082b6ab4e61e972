package ledger_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/leadmetrics/db/internal/testing/ledgertest"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
)

func driftKinds(r *ledger.Report, tenant string) map[ledger.DriftKind]bool {
	out := map[ledger.DriftKind]bool{}
	for _, d := range r.Drifts {
		if d.TenantID == tenant {
			out[d.Kind] = true
		}
	}
	return out
}

// Tampering with raw SQL, around the ledger, is reported, per tenant and
// across tenants, and never repaired.
func TestReconcileDetectsTampering(t *testing.T) {
	env := ledgertest.New(t)
	sys := privacy.WithSystem(context.Background())
	tenants := map[string]context.Context{}
	for _, name := range []string{"clean", "balance", "entry", "deleted", "orphan"} {
		_, ctx := env.Tenant(t, "")
		tenants[name] = ctx
		post(t, env, ctx, topup, 1000, "a")
		post(t, env, ctx, usage, -100, "b")
		post(t, env, ctx, grant, 50, "c")
	}
	r, err := env.Ledger.ReconcileAll(sys)
	if err != nil || !r.OK() || r.Tenants != 5 {
		t.Fatalf("before tampering: %v %v", r, err)
	}
	id := func(name string) string { return mustTenant(tenants[name]) }
	for _, q := range []struct{ sql, tenant string }{
		{`UPDATE credit_balances SET balance = balance + 1 WHERE tenant_id = $1`, id("balance")},
		{`UPDATE credit_ledger_entries SET amount = amount - 10 WHERE tenant_id = $1 AND seq = 2`, id("entry")},
		{`DELETE FROM credit_ledger_entries WHERE tenant_id = $1 AND seq = 1`, id("deleted")},
		{`DELETE FROM credit_balances WHERE tenant_id = $1`, id("orphan")},
	} {
		if _, err := env.DB.Exec(q.sql, q.tenant); err != nil {
			t.Fatal(err)
		}
	}
	before := env.Fingerprint(t)
	r, err = env.Ledger.ReconcileAll(sys)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r)
	want := map[string][]ledger.DriftKind{
		"clean":   nil,
		"balance": {ledger.DriftSum, ledger.DriftNewest},
		"entry":   {ledger.DriftSum, ledger.DriftChain},
		"deleted": {ledger.DriftSum, ledger.DriftChain, ledger.DriftSequence},
		"orphan":  {ledger.DriftMissingBalance},
	}
	for name, kinds := range want {
		got := driftKinds(r, id(name))
		if len(got) != len(kinds) {
			t.Errorf("%s: drifts %v, want %v", name, got, kinds)
		}
		for _, k := range kinds {
			if !got[k] {
				t.Errorf("%s: %s not reported", name, k)
			}
		}
	}
	// The tenant's own reconcile sees its drift and only its own.
	own, err := env.Ledger.Reconcile(tenants["balance"])
	if err != nil || own.OK() || own.Tenants != 1 {
		t.Fatalf("tenant reconcile: %v %v", own, err)
	}
	if own, _ := env.Ledger.Reconcile(tenants["clean"]); !own.OK() || own.Tenants != 1 {
		t.Fatalf("clean tenant sees another's drift: %v", own)
	}
	if env.Fingerprint(t) != before {
		t.Fatal("reconcile changed data")
	}
	if _, err := env.Ledger.ReconcileAll(tenants["clean"]); !errors.Is(err, privacy.ErrSystemOnly) {
		t.Fatalf("tenant viewer reconciling all: %v", err)
	}
}

// Raw SQL binds the viewer's tenant: a tenant reads only its own balance.
func TestBalanceIsPerViewerTenant(t *testing.T) {
	env := ledgertest.New(t)
	_, a := env.Tenant(t, "")
	_, b := env.Tenant(t, "")
	post(t, env, a, topup, 123, "k")
	if got := env.Balance(t, b); got != 0 {
		t.Fatalf("tenant b sees balance %d", got)
	}
	if _, err := env.Ledger.Balance(context.Background()); !errors.Is(err, privacy.ErrNoViewer) {
		t.Fatalf("no viewer: %v", err)
	}
	if _, err := env.Ledger.CanSpend(privacy.WithSystem(context.Background()), 1); !errors.Is(err, privacy.ErrNoViewer) {
		t.Fatalf("system viewer: %v", err)
	}
}

// ReconcileAll reads the entries in (tenant_id, seq) index order, with no
// sort under its window, also where PostgreSQL's costs favour a sequential
// scan and a sort (a large ledger whose rows interleave tenants; made so
// here by pricing random reads high): a sort of every entry is what
// spilled to disk at scale.
func TestReconcileAllReadsInIndexOrder(t *testing.T) {
	suitedb.SkipOnCitus(t, "the coordinator's EXPLAIN shows a remote scan")
	env := ledgertest.New(t)
	for range 3 {
		_, ctx := env.Tenant(t, "")
		post(t, env, ctx, topup, 1000, "a")
		post(t, env, ctx, usage, -100, "b")
	}
	tx, err := env.DB.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`SET LOCAL random_page_cost = 1000`); err != nil {
		t.Fatal(err)
	}
	type node struct {
		Type  string `json:"Node Type"`
		Index string `json:"Index Name"`
		Plans []node `json:"Plans"`
	}
	// window returns the scans and sorts under the plan's WindowAgg.
	window := func() []string {
		var out []byte
		if err := tx.QueryRow(`EXPLAIN (FORMAT JSON) ` + ledger.ReconcileSQL(true)).Scan(&out); err != nil {
			t.Fatal(err)
		}
		var plans []struct{ Plan node }
		if err := json.Unmarshal(out, &plans); err != nil {
			t.Fatal(err)
		}
		var found []string
		var walk func(n node, under bool)
		walk = func(n node, under bool) {
			if under && (n.Type == "Sort" || n.Type == "Incremental Sort" || n.Index != "" || n.Type == "Seq Scan") {
				found = append(found, n.Type+" "+n.Index)
			}
			for _, c := range n.Plans {
				walk(c, under || n.Type == "WindowAgg")
			}
		}
		walk(plans[0].Plan, false)
		return found
	}
	if got := window(); len(got) == 0 || got[0] != "Sort " {
		t.Fatalf("fixture: with random reads priced high, the plain plan should sort: %v", got)
	}
	for _, set := range ledger.ReconcileAllSettings {
		if _, err := tx.Exec(set); err != nil {
			t.Fatal(err)
		}
	}
	if got := window(); len(got) != 1 || got[0] != "Index Scan creditledgerentry_tenant_id_seq" {
		t.Fatalf("under the window: %v, want only the (tenant_id, seq) index scan", got)
	}
	if r, err := env.Ledger.ReconcileAll(privacy.WithSystem(context.Background())); err != nil || !r.OK() || r.Tenants != 3 {
		t.Fatalf("reconcile all: %v, %v", r, err)
	}
}
