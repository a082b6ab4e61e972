package privacy_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/billing"
	"github.com/leadmetrics/db/cuid"
	gen "github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/tenant"
	"github.com/leadmetrics/db/ent/topuporder"
	"github.com/leadmetrics/db/internal/testing/clitest"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/internal/testing/tenancytest"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
)

// lifecycleEntities are the Ent entities whose create, update and delete
// the lifecycle matrix tries; the gate is in the policy every entity
// shares, so a few stand for all.
// (Deliverable's required parent, Activity, is listed before it).
var lifecycleEntities = []string{"Campaign", "Activity", "AgentConfig", "Deliverable"}

// writeOp is one write a tenant viewer may attempt; n makes its keys
// unique per attempt.
type writeOp struct {
	name string
	run  func(ctx context.Context, tenantID string, n int) error
}

// lifecycleEnv is a database with tenants in every lifecycle state and the
// writes to try under each.
type lifecycleEnv struct {
	*tenancytest.Env
	ledger  *ledger.Ledger
	billing *billing.Billing
	pack    string                       // a credit pack the tenants order
	rows    map[string]map[string]string // tenant -> entity -> a row of it, for updates and deletes
}

func newLifecycleEnv(t *testing.T) *lifecycleEnv {
	env := tenancytest.New(t, 0)
	l := ledger.New(env.Client, env.DB)
	return &lifecycleEnv{Env: env, ledger: l, billing: billing.New(env.Client, env.DB, l), rows: map[string]map[string]string{},
		pack: env.Insert("CreditPack", privacy.PlatformTenantID, nil)}
}

var sysCtx = privacy.WithSystem(context.Background())

// tenant creates a tenant through Ent, moves it to status (or soft-deletes
// it), and inserts rows of the matrix's entities for it.
func (e *lifecycleEnv) tenant(t *testing.T, status string) string {
	t.Helper()
	tn, err := e.Client.Tenant.Create().SetName("T " + status).SetSlug(tenancytest.Token(20)).Save(sysCtx)
	if err != nil {
		t.Fatal(err)
	}
	e.seed(tn.ID)
	switch status {
	case "active":
	case "deleted":
		err = e.Client.Tenant.DeleteOneID(tn.ID).Exec(sysCtx)
	default:
		err = e.Client.Tenant.UpdateOneID(tn.ID).SetStatus(tenant.Status(status)).Exec(sysCtx)
	}
	if err != nil {
		t.Fatal(err)
	}
	return tn.ID
}

// seed inserts, with raw SQL, one row of each matrix entity for id and its
// balance row, so that postings reach the gate inside the posting
// statement rather than stopping at a missing balance.
func (e *lifecycleEnv) seed(id string) {
	e.rows[id] = map[string]string{}
	for _, typ := range lifecycleEntities {
		e.rows[id][typ] = e.Insert(typ, id, nil)
	}
	if _, err := e.DB.Exec(`INSERT INTO credit_balances (id, ref_id, tenant_id, created_at, updated_at, balance, last_seq)
		VALUES ($1, 'credit-balance', $2, now(), now(), 0, 0)`, cuid.New(), id); err != nil {
		e.T.Fatal(err)
	}
}

// ops are the writes of the matrix: Ent create, update and delete of each
// entity, the tenant's update of its own row, and the raw-SQL writes of
// ledger and billing.
func (e *lifecycleEnv) ops() []writeOp {
	var ops []writeOp
	for _, typ := range lifecycleEntities {
		ops = append(ops,
			writeOp{"ent create " + typ, func(ctx context.Context, tid string, _ int) error {
				fields := tenancytest.RequiredFields(typ)
				for col, parent := range tenancytest.RequiredEdges(typ) {
					fields[col] = e.rows[tid][parent] // seeded: the attempt itself writes nothing
				}
				_, err := e.Create(ctx, typ, fields)
				return err
			}},
			writeOp{"ent update " + typ, func(ctx context.Context, tid string, _ int) error {
				return e.UpdateOne(ctx, typ, e.rows[tid][typ], tenancytest.RequiredFields(typ))
			}},
		)
	}
	ops = append(ops,
		writeOp{"ent update own tenant row", func(ctx context.Context, tid string, _ int) error {
			return e.Client.Tenant.UpdateOneID(tid).SetName("renamed").Exec(ctx)
		}},
		writeOp{"ledger.Post usage", func(ctx context.Context, _ string, n int) error {
			_, err := e.ledger.Post(ctx, ledger.Posting{Kind: "usage", Amount: -1, IdempotencyKey: fmt.Sprint("u", n)})
			return err
		}},
		writeOp{"ledger.RecordLLMCall", func(ctx context.Context, _ string, n int) error {
			_, _, err := e.ledger.RecordLLMCall(ctx, ledger.LLMCall{RefID: fmt.Sprint("c", n), Provider: "p", Model: "m", Cost: 2})
			return err
		}},
		writeOp{"ledger.RecordLLMCall free", func(ctx context.Context, _ string, n int) error {
			_, _, err := e.ledger.RecordLLMCall(ctx, ledger.LLMCall{RefID: fmt.Sprint("f", n), Provider: "p", Model: "m"})
			return err
		}},
		writeOp{"ledger.IngestLLMCalls", func(ctx context.Context, _ string, n int) error {
			_, err := e.ledger.IngestLLMCalls(ctx, []ledger.LLMCall{{RefID: fmt.Sprint("i", n), Provider: "p", Model: "m"}})
			return err
		}},
		writeOp{"ledger.EnsureBalance", func(ctx context.Context, _ string, _ int) error { return e.ledger.EnsureBalance(ctx) }},
		writeOp{"billing.CreateOrder", func(ctx context.Context, _ string, n int) error {
			_, err := e.billing.CreateOrder(ctx, billing.OrderRequest{RefID: fmt.Sprint("o", n), Provider: topuporder.ProviderStripe, PackID: e.pack})
			return err
		}},
	)
	// Deletes last: they remove the rows the updates use.
	for _, typ := range lifecycleEntities {
		ops = append(ops, writeOp{"ent delete " + typ, func(ctx context.Context, tid string, _ int) error {
			return e.DeleteOne(ctx, typ, e.rows[tid][typ])
		}})
	}
	return ops
}

// TestTenantLifecycleGate: under a viewer whose tenant is unknown,
// soft-deleted, suspended or closed, every write is refused with
// ErrTenantInactive and nothing in the database changes; the platform's
// id and blank ids are no tenant viewer at all. An active tenant writes.
func TestTenantLifecycleGate(t *testing.T) {
	e := newLifecycleEnv(t)
	active := e.tenant(t, "active")
	unknown := cuid.New()
	e.seed(unknown)
	e.seed(privacy.PlatformTenantID)
	states := []struct {
		name, id string
		want     error
	}{
		{"unknown", unknown, privacy.ErrTenantInactive},
		{"soft-deleted", e.tenant(t, "deleted"), privacy.ErrTenantInactive},
		{"suspended", e.tenant(t, "suspended"), privacy.ErrTenantInactive},
		{"closed", e.tenant(t, "closed"), privacy.ErrTenantInactive},
		{"platform", privacy.PlatformTenantID, privacy.ErrNoViewer},
		{"platform padded", " platform\t", privacy.ErrNoViewer},
		{"blank", " ", privacy.ErrNoViewer},
		{"empty", "", privacy.ErrNoViewer},
	}
	ops := e.ops()
	n := 0
	for _, s := range states {
		if e.rows[s.id] == nil {
			e.rows[s.id] = e.rows[active] // blank ids try the active tenant's rows
		}
		ctx := privacy.WithTenant(context.Background(), s.id)
		for _, op := range ops {
			n++
			before := suitedb.Fingerprint(t, e.DB)
			if err := op.run(ctx, s.id, n); !errors.Is(err, s.want) {
				t.Errorf("%s tenant, %s: %v, want %v", s.name, op.name, err, s.want)
			}
			if suitedb.Fingerprint(t, e.DB) != before {
				t.Errorf("%s tenant, %s: refused but wrote something", s.name, op.name)
			}
		}
	}
	ctx := privacy.WithTenant(context.Background(), active)
	for _, op := range ops {
		n++
		if err := op.run(ctx, active, n); err != nil {
			t.Errorf("active tenant, %s: %v", op.name, err)
		}
	}
}

// A suspended tenant still reads its data and balance; suspension and
// reactivation through Ent apply to the very next write (the cache is
// dropped on every tenant change), by raw SQL to the ledger at once and to
// Ent writes after InvalidateTenantStates (or within TenantStateTTL).
func TestSuspensionAndReactivation(t *testing.T) {
	e := newLifecycleEnv(t)
	id := e.tenant(t, "active")
	ctx := privacy.WithTenant(context.Background(), id)
	write := func(n int) error { return e.ops()[0].run(ctx, id, n) } // an Ent create
	post := func(n int) error {
		_, err := e.ledger.Post(ctx, ledger.Posting{Kind: "usage", Amount: -1, IdempotencyKey: fmt.Sprint("p", n)})
		return err
	}
	if err := write(1); err != nil { // warms the cache with "active"
		t.Fatal(err)
	}
	if err := e.Client.Tenant.UpdateOneID(id).SetStatus(tenant.StatusSuspended).Exec(sysCtx); err != nil {
		t.Fatal(err)
	}
	if err := write(2); !errors.Is(err, privacy.ErrTenantInactive) {
		t.Fatalf("write right after suspension: %v", err)
	}
	if err := post(2); !errors.Is(err, privacy.ErrTenantInactive) {
		t.Fatalf("posting right after suspension: %v", err)
	}
	// Reads stay open: its rows, its balance.
	if n, err := e.Client.Campaign.Query().Count(ctx); err != nil || n != 2 { // seeded and created
		t.Fatalf("suspended tenant reads %d campaigns: %v", n, err)
	}
	if _, err := e.ledger.Balance(ctx); err != nil {
		t.Fatalf("suspended tenant reads its balance: %v", err)
	}
	// Reactivated in a transaction: seen once it commits.
	tx, err := e.Client.Tx(sysCtx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Tenant.UpdateOneID(id).SetStatus(tenant.StatusActive).Exec(sysCtx); err != nil {
		t.Fatal(err)
	}
	if err := write(3); !errors.Is(err, privacy.ErrTenantInactive) {
		t.Fatalf("write before the reactivation commits: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := write(4); err != nil {
		t.Fatalf("write after reactivation: %v", err)
	}
	if err := post(4); err != nil {
		t.Fatalf("posting after reactivation: %v", err)
	}
	// Suspended behind the layer's back: the ledger's statement sees it at
	// once; Ent writes once the cache is dropped.
	if _, err := e.DB.Exec(`UPDATE tenants SET status = 'suspended' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if err := post(5); !errors.Is(err, privacy.ErrTenantInactive) {
		t.Fatalf("posting after a raw suspension: %v", err)
	}
	privacy.InvalidateTenantStates()
	if err := write(5); !errors.Is(err, privacy.ErrTenantInactive) {
		t.Fatalf("write after a raw suspension and invalidation: %v", err)
	}
}

// crossProcessBound is the promise of docs/TENANCY.md ("Tenant
// lifecycle"): a tenant's new status, committed by another process (or by
// raw SQL), reaches this process's lifecycle gate within this time.
const crossProcessBound = time.Second

// lifecycleTenant creates an active tenant through h and one campaign of
// it; it returns the tenant's id, its viewer and the campaign.
func lifecycleTenant(t *testing.T, h *db.DB) (id string, ctx context.Context, campaign string) {
	t.Helper()
	id = cuid.New()
	if err := h.Tenant.Create().SetID(id).SetTenantID(id).SetRefID("tenant").SetName("T").SetSlug("t-" + id).Exec(sysCtx); err != nil {
		t.Fatal(err)
	}
	ctx = privacy.WithTenant(context.Background(), id)
	c, err := h.Campaign.Create().SetRefID("seed").SetName("seed").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return id, ctx, c.ID
}

// tenantWrites runs the tenant's Ent create and update on h and returns
// their errors, labelled.
func tenantWrites(h *db.DB, ctx context.Context, campaign string) []error {
	return []error{
		labelled("create", h.Campaign.Create().SetRefID(cuid.New()).SetName("x").Exec(ctx)),
		labelled("update", h.Campaign.UpdateOneID(campaign).SetName(cuid.New()).Exec(ctx)),
	}
}

func labelled(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", op, err)
}

func mustWrite(t *testing.T, when string, h *db.DB, ctx context.Context, campaign string) {
	t.Helper()
	for _, err := range tenantWrites(h, ctx, campaign) {
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
	}
}

func mustBeRefused(t *testing.T, when string, h *db.DB, ctx context.Context, campaign string) {
	t.Helper()
	for _, err := range tenantWrites(h, ctx, campaign) {
		if !errors.Is(err, privacy.ErrTenantInactive) {
			t.Fatalf("%s: %v, want ErrTenantInactive", when, err)
		}
	}
}

// TestWithTxTenantChangeSeenAtCommit (issue 18, finding 4): a suspension,
// closure or deletion committed through db.WithTx reaches the lifecycle
// gate as it commits, even when a write of the tenant on another
// connection cached "active" while the transaction was open, and whichever
// context the function's statements use.
func TestWithTxTenantChangeSeenAtCommit(t *testing.T) {
	h := suitedb.Handle(t, suitedb.URL(t))
	for _, c := range []struct {
		name   string
		change func(ctx context.Context, tx *db.Tx, id string) error
	}{
		{"suspend", func(ctx context.Context, tx *db.Tx, id string) error {
			return tx.Tenant.UpdateOneID(id).SetStatus(tenant.StatusSuspended).Exec(ctx)
		}},
		{"suspend under the outer context", func(_ context.Context, tx *db.Tx, id string) error {
			return tx.Tenant.UpdateOneID(id).SetStatus(tenant.StatusSuspended).Exec(sysCtx)
		}},
		{"close by a bulk update", func(ctx context.Context, tx *db.Tx, id string) error {
			return tx.Tenant.Update().Where(tenant.ID(id)).SetStatus(tenant.StatusClosed).Exec(ctx)
		}},
		{"soft delete", func(ctx context.Context, tx *db.Tx, id string) error {
			return tx.Tenant.DeleteOneID(id).Exec(ctx)
		}},
		{"hard delete", func(ctx context.Context, tx *db.Tx, id string) error {
			return tx.Tenant.DeleteOneID(id).Exec(privacy.WithHardDelete(ctx))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			id, ctx, campaign := lifecycleTenant(t, h)
			mustWrite(t, "before", h, ctx, campaign)
			err := h.WithTx(sysCtx, func(txCtx context.Context, tx *db.Tx) error {
				if err := c.change(txCtx, tx, id); err != nil {
					return err
				}
				// Not committed yet: the tenant still writes on another
				// connection, and the gate caches what it saw.
				mustWrite(t, "before the commit", h, ctx, campaign)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			mustBeRefused(t, "right after the commit", h, ctx, campaign)
		})
	}
	t.Run("reactivate", func(t *testing.T) {
		id, ctx, campaign := lifecycleTenant(t, h)
		if err := h.Tenant.UpdateOneID(id).SetStatus(tenant.StatusSuspended).Exec(sysCtx); err != nil {
			t.Fatal(err)
		}
		mustBeRefused(t, "suspended", h, ctx, campaign)
		if err := h.WithTx(sysCtx, func(txCtx context.Context, tx *db.Tx) error {
			if err := tx.Tenant.UpdateOneID(id).SetStatus(tenant.StatusActive).Exec(txCtx); err != nil {
				return err
			}
			mustBeRefused(t, "before the reactivation commits", h, ctx, campaign)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		mustWrite(t, "right after the reactivation", h, ctx, campaign)
	})
	t.Run("rolled back", func(t *testing.T) {
		id, ctx, campaign := lifecycleTenant(t, h)
		undo := errors.New("undo")
		err := h.WithTx(sysCtx, func(txCtx context.Context, tx *db.Tx) error {
			if err := tx.Tenant.UpdateOneID(id).SetStatus(tenant.StatusSuspended).Exec(txCtx); err != nil {
				return err
			}
			return undo
		})
		if !errors.Is(err, undo) {
			t.Fatal(err)
		}
		mustWrite(t, "after a rolled-back suspension", h, ctx, campaign)
	})
}

// TestTenantStateSeenAcrossHandles: two handles on one database stand for
// two processes. A change another process commits (raw SQL on the other
// handle's pool, or the dbctl binary, a real second process) reaches this
// process's gate within crossProcessBound; a change through either
// handle's Ent client reaches both at once (the gate's cache is the
// process's).
func TestTenantStateSeenAcrossHandles(t *testing.T) {
	if privacy.TenantStateTTL > crossProcessBound {
		t.Errorf("privacy.TenantStateTTL is %s, docs/TENANCY.md promises %s", privacy.TenantStateTTL, crossProcessBound)
	}
	url := suitedb.URL(t)
	h1, h2 := suitedb.Handle(t, url), suitedb.Handle(t, url)
	id, ctx, campaign := lifecycleTenant(t, h1)
	mustWrite(t, "warm", h1, ctx, campaign)

	if _, err := h2.SQL.Exec(`UPDATE tenants SET status = 'suspended' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	time.Sleep(crossProcessBound)
	mustBeRefused(t, "a raw suspension, after the bound", h1, ctx, campaign)

	bin := clitest.BuildFor(t, "github.com/leadmetrics/db/cmd/datactl")
	datactlTenant(t, bin, url, "activate", id)
	time.Sleep(crossProcessBound)
	mustWrite(t, "activated by datactl, after the bound", h1, ctx, campaign)
	datactlTenant(t, bin, url, "close", id)
	time.Sleep(crossProcessBound)
	mustBeRefused(t, "closed by datactl, after the bound", h1, ctx, campaign)

	if err := h2.Tenant.UpdateOneID(id).SetStatus(tenant.StatusActive).Exec(sysCtx); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, "activated through the other handle, at once", h1, ctx, campaign)
	if err := h1.Tenant.UpdateOneID(id).SetStatus(tenant.StatusSuspended).Exec(sysCtx); err != nil {
		t.Fatal(err)
	}
	mustBeRefused(t, "suspended through the first handle, on the second at once", h2, ctx, campaign)
}

// datactlTenant runs "dbctl tenant <verb> <id>" against url and fails the
// test unless it succeeds.
func datactlTenant(t *testing.T, bin, url, verb, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "tenant", verb, id)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+url)
	if suitedb.Config(url).Pooler != "" {
		cmd.Env = append(cmd.Env, "DATABASE_POOLER="+suitedb.Config(url).Pooler)
	}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), id) {
		t.Fatalf("dbctl tenant %s: %v\n%s", verb, err, out)
	}
}

// TestWarmTenantWriteIsOneStatement: the lifecycle gate costs a write no
// round trip while the tenant's state is cached, one lookup when it is not
// (first write, after a tenant change, once TenantStateTTL has passed).
func TestWarmTenantWriteIsOneStatement(t *testing.T) {
	env := tenancytest.New(t, 1)
	drv := &countingDriver{Driver: entsql.OpenDB(dialect.Postgres, env.DB)} // every statement
	client := gen.NewClient(gen.Driver(drv))
	ctx := privacy.WithTenant(context.Background(), env.Tenants[0])
	create := func() int64 {
		t.Helper()
		before := drv.n.Load()
		if err := client.Campaign.Create().SetName("c").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		return drv.n.Load() - before
	}
	privacy.InvalidateTenantStates()
	for _, step := range []struct {
		name string
		want int64
		wait time.Duration
	}{{"cold", 2, 0}, {"warm", 1, 0}, {"warm again", 1, 0}, {"after the TTL", 2, privacy.TenantStateTTL}, {"warm after it", 1, 0}} {
		time.Sleep(step.wait)
		if got := create(); got != step.want {
			t.Errorf("%s create: %d statements, want %d", step.name, got, step.want)
		}
	}
}
