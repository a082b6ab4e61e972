package failover_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/leadmetrics/db"
	"github.com/leadmetrics/db/billing"
	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/campaign"
	"github.com/leadmetrics/db/ent/creditledgerentry"
	"github.com/leadmetrics/db/ent/topuporder"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/migrations"
	"github.com/leadmetrics/db/privacy"
)

// haDatabase returns the URL of a new migrated database on the formation
// of TEST_HA_URL (scripts/ha.sh start), dropped after the test; the test
// is skipped without it.
func haDatabase(t *testing.T) string {
	t.Helper()
	raw := os.Getenv("TEST_HA_URL")
	if raw == "" {
		t.Skip("TEST_HA_URL not set (scripts/ha.sh start)")
	}
	ctx := context.Background()
	admin := openHA(t, withDB(t, raw, "postgres"))
	name := fmt.Sprintf("ha_%d", time.Now().UnixNano())
	if _, err := admin.SQL.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The formation may be mid-failover: give it the time to settle.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		db.Retry(ctx, func(ctx context.Context) error {
			_, err := admin.SQL.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			return err
		})
	})
	u := withDB(t, raw, name)
	// pgx stops at the first host that lacks the database (the standby,
	// until it has replayed the CREATE DATABASE): wait for it.
	cfg := db.DefaultConfig()
	cfg.URL, cfg.PoolMin = u, 1
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		h, err := db.Open(ctx, cfg)
		if err == nil {
			h.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
	h := openHA(t, u)
	if _, err := migrations.Apply(ctx, h.SQL, migrations.Options{}); err != nil {
		t.Fatal(err)
	}
	return u
}

func withDB(t *testing.T, raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("TEST_HA_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func openHA(t *testing.T, rawURL string, tune ...func(*db.Config)) *db.DB {
	t.Helper()
	cfg := db.DefaultConfig()
	cfg.URL, cfg.PoolMin, cfg.PoolMax, cfg.ConnectTimeout = rawURL, 1, 16, 3*time.Second
	for _, f := range tune {
		f(&cfg)
	}
	h, err := db.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// serverOf returns the port and postmaster pid of the server a fresh
// connection of h reaches (the tests run on the formation's machine).
func serverOf(t *testing.T, h *db.DB) (port, postmaster int) {
	t.Helper()
	var backend int
	if err := h.SQL.QueryRow(`SELECT inet_server_port(), pg_backend_pid()`).Scan(&port, &backend); err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", backend))
	if err != nil {
		t.Fatalf("the HA tests run on the formation's machine: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "PPid:"); ok {
			postmaster, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return port, postmaster
}

// waitHealthy waits until the formation has a primary and a secondary
// again (the killed node rejoined as a standby).
func waitHealthy(t *testing.T) {
	t.Helper()
	var out []byte
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		var err error
		if out, err = haScript(t, "status").CombinedOutput(); err == nil {
			return
		}
	}
	t.Fatalf("the formation did not return to primary + secondary:\n%s", out)
}

// TestFailoverLosesNoAcknowledgedWrite: 8 workers post to the ledger and
// handle webhooks across 100 tenants; the primary's postmaster is killed
// (kill -9) mid-burst; pg_auto_failover promotes the standby and the
// workers carry on through the same handle. Then the old primary rejoins
// as a standby and the new primary is killed in turn (failback). After
// each round every acknowledged posting and paid order is in the ledger
// exactly once, nothing is doubled and Reconcile finds no drift.
func TestFailoverLosesNoAcknowledgedWrite(t *testing.T) {
	u := haDatabase(t)
	waitHealthy(t)
	t.Cleanup(func() {
		// Bring the last killed node back, for the tests that follow.
		if out, err := haScript(t, "start").CombinedOutput(); err != nil {
			t.Errorf("scripts/ha.sh start: %v\n%s", err, out)
		}
	})
	h := openHA(t, u)
	l := ledger.New(h.Client, h.SQL)
	b := billing.New(h.Client, h.SQL, l)
	sys := privacy.WithSystem(context.Background())

	tenants := make([]string, 100)
	for i := range tenants {
		tenants[i] = fmt.Sprintf("ha-tenant-%03d", i)
	}
	suitedb.Tenants(t, h.SQL, tenants...)

	for round, name := range []string{"failover", "failback"} {
		t.Run(name, func(t *testing.T) {
			if round > 0 {
				// The old primary rejoins as a standby (pg_rewind).
				if out, err := haScript(t, "start").CombinedOutput(); err != nil {
					t.Fatalf("scripts/ha.sh start: %v\n%s", err, out)
				}
				waitHealthy(t)
			}
			haRound(t, h, l, b, sys, tenants, round)
		})
		if t.Failed() {
			return
		}
	}
}

func haRound(t *testing.T, h *db.DB, l *ledger.Ledger, b *billing.Billing, sys context.Context, tenants []string, round int) {
	const workers, ordersPerTenant = 8, 4
	// Orders to pay by webhook during the burst.
	orders := make([]string, 0, len(tenants)*ordersPerTenant)
	for _, tn := range tenants {
		for k := range ordersPerTenant {
			ref := fmt.Sprintf("r%d-%s-%d", round, tn, k)
			// An operator's orders (the system's own terms and provider ids).
			if _, err := b.CreateOrder(sys, billing.OrderRequest{RefID: ref, Provider: topuporder.ProviderStripe, TenantID: tn,
				ProviderOrderID: "pi_" + ref, Credits: 10, PaidAmount: 100, PaidCurrency: "USD"}); err != nil {
				t.Fatal(err)
			}
			orders = append(orders, ref)
		}
	}

	oldPort, postmaster := serverOf(t, h)
	var (
		stop, killed  atomic.Bool
		killedAt      time.Time
		firstAfter    atomic.Int64 // unix nanos of the first acknowledged write after the kill
		nextOrder     atomic.Int64
		mu            sync.Mutex
		ackedPostings = map[string]int64{} // tenant/key -> amount
		paid          = map[string]bool{}  // order refs whose payment was acknowledged
		replays       atomic.Int64
		unacked       atomic.Int64
		wg            sync.WaitGroup
	)
	var slowest atomic.Int64 // the longest acknowledged operation, retries included
	// acked records a write acknowledged now that began at start; a write
	// begun before the kill completed does not count as one after it.
	acked := func(start time.Time) {
		now := time.Now()
		if d := int64(now.Sub(start)); d > slowest.Load() {
			slowest.Store(d) // racy max: a report, not an assertion
		}
		if killed.Load() && !start.Before(killedAt) {
			firstAfter.CompareAndSwap(0, now.UnixNano())
		}
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				ctx, cancel := context.WithTimeout(sys, time.Minute)
				start := time.Now()
				if i%2 == 0 {
					tn := tenants[(w*13+i)%len(tenants)]
					key := fmt.Sprintf("ha%d-w%d-%d", round, w, i)
					e, err := l.Post(ctx, ledger.Posting{Kind: creditledgerentry.KindGrant, Amount: 1, IdempotencyKey: key, TenantID: tn})
					if err == nil {
						acked(start)
						mu.Lock()
						ackedPostings[tn+"/"+key] = 1
						mu.Unlock()
						if e.Replayed {
							replays.Add(1)
						}
					} else {
						unacked.Add(1)
						t.Logf("posting %s not acknowledged: %v", key, err)
					}
				} else if n := nextOrder.Add(1) - 1; n < int64(len(orders)) {
					ref := orders[n]
					out, err := b.HandleEvent(ctx, billing.Event{Provider: topuporder.ProviderStripe, EventID: "evt_" + ref,
						Type: billing.EventPaymentSucceeded, ProviderOrderID: "pi_" + ref, Amount: 100, Currency: "usd"})
					switch {
					case err == nil && out.Status == "processed" || err == nil && out.Duplicate:
						acked(start)
						mu.Lock()
						paid[ref] = true
						mu.Unlock()
						if out.Duplicate {
							replays.Add(1)
						}
					case err == nil:
						t.Errorf("webhook %s: %+v", ref, out)
					default:
						unacked.Add(1)
						t.Logf("webhook %s not acknowledged: %v", ref, err)
					}
				}
				cancel()
			}
		}()
	}

	time.Sleep(2 * time.Second) // mid-burst
	// kill -9 of the postmaster, then of its node's pg_autoctl (the
	// process group scripts/ha.sh started): left alive, the keeper
	// restarts PostgreSQL in place within seconds, often before the
	// monitor decides to fail over. Losing both is losing the node.
	keeper, err := syscall.Getpgid(postmaster)
	if err == nil && (keeper <= 1 || keeper == syscall.Getpgrp()) {
		err = fmt.Errorf("process group %d is not a pg_autoctl node's", keeper)
	}
	if err == nil {
		err = syscall.Kill(postmaster, syscall.SIGKILL)
	}
	if err == nil {
		err = syscall.Kill(-keeper, syscall.SIGKILL)
	}
	if err != nil {
		stop.Store(true)
		wg.Wait()
		t.Fatalf("kill -9 %d: %v", postmaster, err)
	}
	// SIGKILL takes effect when each process is next scheduled: wait until
	// the postmaster is gone (or a zombie), so that a write that starts
	// after killedAt and succeeds was served by the new primary.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", postmaster))
		if _, rest, _ := strings.Cut(string(stat), ") "); err != nil || strings.HasPrefix(rest, "Z") {
			break
		}
	}
	killedAt = time.Now()
	killed.Store(true)
	for deadline := time.Now().Add(3 * time.Minute); firstAfter.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // carry on on the new primary
	stop.Store(true)
	wg.Wait()
	if firstAfter.Load() == 0 {
		t.Fatal("no write succeeded within 3 minutes of the kill")
	}
	newPort, _ := serverOf(t, h)
	t.Logf("round %d: killed the primary on port %d (postmaster %d); first acknowledged write begun after the kill %v after it, "+
		"slowest acknowledged operation %v (retries included), now on port %d; "+
		"%d postings and %d payments acknowledged, %d replays reported, %d operations not acknowledged",
		round, oldPort, postmaster, time.Unix(0, firstAfter.Load()).Sub(killedAt).Round(time.Millisecond),
		time.Duration(slowest.Load()).Round(time.Millisecond), newPort,
		len(ackedPostings), len(paid), replays.Load(), unacked.Load())
	if newPort == oldPort {
		t.Errorf("writes still go to port %d: the standby was not promoted", oldPort)
	}

	ctx := context.Background()
	// Every acknowledged posting exactly once; no key doubled at all.
	counts := map[string]int64{}
	rows, err := h.SQL.QueryContext(ctx, `SELECT tenant_id || '/' || idempotency_key, count(*), sum(amount)
		FROM credit_ledger_entries WHERE idempotency_key LIKE $1 GROUP BY 1`, fmt.Sprintf("ha%d-%%", round))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		var n, sum int64
		if err := rows.Scan(&k, &n, &sum); err != nil {
			t.Fatal(err)
		}
		if n != 1 || sum != 1 {
			t.Errorf("posting %s stored %d times (sum %d)", k, n, sum)
		}
		counts[k] = n
	}
	rows.Close()
	for k := range ackedPostings {
		if counts[k] != 1 {
			t.Errorf("acknowledged posting %s is missing from the ledger", k)
		}
	}
	// Every acknowledged payment: the order is paid and credited once.
	for ref := range paid {
		var status string
		var credits int64
		if err := h.SQL.QueryRowContext(ctx, `SELECT o.status, (SELECT count(*) FROM credit_ledger_entries e
				WHERE e.tenant_id = o.tenant_id AND e.idempotency_key = 'topup:' || o.id)
			FROM topup_orders o WHERE o.provider_order_id = $1`, "pi_"+ref).Scan(&status, &credits); err != nil {
			t.Fatal(err)
		}
		if status != "paid" || credits != 1 {
			t.Errorf("acknowledged payment %s: order %s with %d credit entries, want paid with 1", ref, status, credits)
		}
	}
	if len(ackedPostings) == 0 || len(paid) == 0 {
		t.Errorf("nothing acknowledged: %d postings, %d payments", len(ackedPostings), len(paid))
	}
	r, err := l.ReconcileAll(sys)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Errorf("drift after the failover: %v", r)
	}
}

// readURLOf is u with target_session_attrs=standby: only a standby serves.
func readURLOf(t *testing.T, u string) string {
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := p.Query()
	q.Set("target_session_attrs", "standby")
	p.RawQuery = q.Encode()
	return p.String()
}

func inRecovery(t *testing.T, q *sql.DB) bool {
	t.Helper()
	var rec bool
	if err := q.QueryRow(`SELECT pg_is_in_recovery()`).Scan(&rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestStandbyReads: reads under db.ReadOnlyContext are served by the
// standby, writes under it are refused, and reads fall back to the
// primary when the standby lags or is stopped.
func TestStandbyReads(t *testing.T) {
	u := haDatabase(t)
	waitHealthy(t)
	h := openHA(t, u, func(c *db.Config) { c.ReadURL, c.MaxReplicaLag = readURLOf(t, u), time.Minute })
	ctx := context.Background()
	suitedb.Tenants(t, h.SQL, "ro-tenant")
	sys := privacy.WithSystem(ctx)
	ro := db.ReadOnlyContext(sys)

	if !inRecovery(t, h.Reader(ro)) {
		t.Fatal("a read-only read was not served by the standby")
	}
	if inRecovery(t, h.Reader(sys)) {
		t.Fatal("a plain read was served by the standby")
	}
	// Ent reads work under it (wherever they run), writes do not.
	deadline := time.Now().Add(time.Minute)
	for n := 0; n != 1; time.Sleep(100 * time.Millisecond) {
		var err error
		if n, err = h.Tenant.Query().Count(ro); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the standby never showed the tenant: %d tenants", n)
		}
	}
	if _, err := h.Tenant.Create().SetID("ro-tenant-2").SetName("x").SetSlug("ro-2").Save(ro); !errors.Is(err, db.ErrReadOnly) {
		t.Fatalf("Ent create under a read-only context: %v, want ErrReadOnly", err)
	}
	if err := h.WithTx(ro, func(context.Context, *db.Tx) error { return nil }); !errors.Is(err, db.ErrReadOnly) {
		t.Fatalf("WithTx under a read-only context: %v, want ErrReadOnly", err)
	}
	l := ledger.New(h.Client, h.SQL)
	if _, err := l.Post(ro, ledger.Posting{Kind: creditledgerentry.KindGrant, Amount: 1, IdempotencyKey: "ro", TenantID: "ro-tenant"}); !errors.Is(err, db.ErrReadOnly) {
		t.Fatalf("ledger posting under a read-only context: %v, want ErrReadOnly", err)
	}

	t.Run("lag", func(t *testing.T) {
		// Pause replay on the standby, write on the primary: the standby
		// falls behind and a handle with a small lag bound reads from the
		// primary.
		standby := openHA(t, readURLOf(t, u))
		if _, err := standby.SQL.Exec(`SELECT pg_wal_replay_pause()`); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { standby.SQL.Exec(`SELECT pg_wal_replay_resume()`) })
		strict := openHA(t, u, func(c *db.Config) { c.ReadURL, c.MaxReplicaLag = readURLOf(t, u), time.Millisecond })
		if _, err := l.Post(sys, ledger.Posting{Kind: creditledgerentry.KindGrant, Amount: 1, IdempotencyKey: "lag", TenantID: "ro-tenant"}); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); inRecovery(t, strict.Reader(ro)); time.Sleep(200 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("a read was served by a standby whose replay is paused behind the primary")
			}
		}
		if !inRecovery(t, h.Reader(ro)) {
			t.Fatal("a read within the handle's lag bound (1 min) left the standby")
		}
	})

	t.Run("stopped", func(t *testing.T) {
		t.Cleanup(func() {
			if out, err := haScript(t, "start").CombinedOutput(); err != nil {
				t.Errorf("scripts/ha.sh start: %v\n%s", err, out)
			}
		})
		if out, err := haScript(t, "stop-standby").CombinedOutput(); err != nil {
			t.Fatalf("scripts/ha.sh stop-standby: %v\n%s", err, out)
		}
		time.Sleep(1100 * time.Millisecond) // the last check's answer expires (replicaCheckEvery)
		if inRecovery(t, h.Reader(ro)) {
			t.Fatal("a read was served by a stopped standby")
		}
		if n, err := h.Tenant.Query().Count(ro); err != nil || n != 1 {
			t.Fatalf("Ent read with the standby stopped: %d, %v", n, err)
		}
	})
}

// TestCommitCutWhileWaitingForTheStandby: a COMMIT applied on the primary
// whose backend is terminated while it waits for the synchronous standby
// (replay paused there, synchronous_commit = remote_apply for the
// transaction) has committed, but its client gets no answer. A write that
// is not idempotent reports ErrOutcomeUnknown (and the row is there); an
// upsert by ref id is rerun and reports the replay.
func TestCommitCutWhileWaitingForTheStandby(t *testing.T) {
	u := haDatabase(t)
	waitHealthy(t)
	h := openHA(t, u)
	suitedb.Tenants(t, h.SQL, "cut-tenant")
	ctx := privacy.WithTenant(context.Background(), "cut-tenant")
	standby := openHA(t, readURLOf(t, u))
	if _, err := standby.SQL.Exec(`SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { standby.SQL.Exec(`SELECT pg_wal_replay_resume()`) })

	// cutSyncWait terminates the next backend that waits for the standby.
	cutSyncWait := func() <-chan error {
		done := make(chan error, 1)
		go func() {
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				var pid int
				err := h.SQL.QueryRow(`SELECT pid FROM pg_stat_activity
					WHERE datname = current_database() AND wait_event = 'SyncRep' LIMIT 1`).Scan(&pid)
				if errors.Is(err, sql.ErrNoRows) {
					continue
				}
				if err == nil {
					_, err = h.SQL.Exec(`SELECT pg_terminate_backend($1)`, pid)
				}
				done <- err
				return
			}
			done <- errors.New("no COMMIT waited for the standby within 30 s")
		}()
		return done
	}
	campaigns := func(ref string) (n int) {
		if err := h.SQL.QueryRow(`SELECT count(*) FROM campaigns WHERE ref_id = $1`, ref).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	killed := cutSyncWait()
	err := h.WithTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		if _, err := tx.SQL.ExecContext(ctx, `SET LOCAL synchronous_commit = remote_apply`); err != nil {
			return err
		}
		return tx.Campaign.Create().SetRefID("once").SetName("x").Exec(ctx)
	})
	if kerr := <-killed; kerr != nil {
		t.Fatal(kerr)
	}
	var ue *db.OutcomeUnknownError
	if !errors.As(err, &ue) || ue.Op != "COMMIT" || !errors.Is(err, db.ErrOutcomeUnknown) {
		t.Fatalf("WithTx: %v; want an OutcomeUnknownError of the COMMIT", err)
	}
	if n := campaigns("once"); n != 1 {
		t.Fatalf("%d rows: the cut COMMIT had committed on the primary", n)
	}

	killed = cutSyncWait()
	attempt := 0
	res, err := h.UpsertByRef(ctx, func(ctx context.Context, c *ent.Client) error {
		if attempt++; attempt == 1 {
			if _, err := c.ExecContext(ctx, `SET LOCAL synchronous_commit = remote_apply`); err != nil {
				return err
			}
		}
		return c.Campaign.Create().SetRefID("upsert").SetName("x").
			OnConflictColumns(campaign.FieldTenantID, campaign.FieldRefID).UpdateNewValues().Exec(ctx)
	})
	if kerr := <-killed; kerr != nil {
		t.Fatal(kerr)
	}
	if err != nil || res.Outcome != db.Replayed || res.Attempts != 2 {
		t.Fatalf("UpsertByRef: %+v, %v; want a rerun that finds the committed row (replayed)", res, err)
	}
	if n := campaigns("upsert"); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
}

// haScript is scripts/ha.sh with its arguments, run from the module's
// root as the script expects.
func haScript(t *testing.T, args ...string) *exec.Cmd {
	cmd := exec.Command("scripts/ha.sh", args...)
	cmd.Dir = suitedb.ModuleRoot(t)
	return cmd
}
