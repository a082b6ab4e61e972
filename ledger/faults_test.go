package ledger_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadmetrics/db/internal/testdb"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"

	"github.com/leadmetrics/db/internal/ledgertest"
)

// A posting whose backend is terminated while it waits for the balance
// lock never commits; the layer reruns it (an admin shutdown is a
// failover error) and applies it exactly once.
func TestPostingKilledMidFlightAppliesOnceOnRetry(t *testing.T) {
	testdb.SkipOnCitus(t, "the balance lock is held on a worker; the probe reads the coordinator's lock waits")
	env := ledgertest.New(t)
	tenant, ctx := env.Tenant(t, "")
	post(t, env, ctx, topup, 1000, "before")

	release := holdBalance(t, env, tenant)
	p := ledger.Posting{Kind: usage, Amount: -300, IdempotencyKey: "killed"}
	type result struct {
		e   *ledger.Entry
		err error
	}
	done := make(chan result, 1)
	go func() { e, err := env.Post(ctx, p); done <- result{e, err} }()

	pids := waitForPostings(t, env, 1)
	admin := testdb.Open(t, testdb.ServerURL(t))
	pid := pids[0]
	if _, err := admin.Exec(`SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	// The rerun waits on the lock again, on a new connection.
	waitForPostings(t, env, 1)
	release()

	r := <-done
	if r.err != nil {
		t.Fatalf("the killed posting was not rerun: %v", r.err)
	}
	if r.e.Replayed || r.e.BalanceAfter != 700 {
		t.Fatalf("rerun: replayed %v balance_after %d, want a first application to 700", r.e.Replayed, r.e.BalanceAfter)
	}
	if e, _ := env.Post(ctx, p); !e.Replayed || env.Balance(t, ctx) != 700 {
		t.Fatal("second retry applied again")
	}
	env.MustReconcile(t, ctx)
}

// holdBalance locks the tenant's balance row from another session until
// the returned function is called.
func holdBalance(t *testing.T, env *ledgertest.Env, tenant string) (release func()) {
	t.Helper()
	holder, err := env.DB.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Rollback() })
	if _, err := holder.Exec(`SELECT 1 FROM credit_balances WHERE tenant_id = $1 FOR UPDATE`, tenant); err != nil {
		t.Fatal(err)
	}
	return func() { holder.Rollback() }
}

// waitForPostings waits until n postings wait for a balance lock and
// returns their backend pids.
func waitForPostings(t *testing.T, env *ledgertest.Env, n int) []int {
	t.Helper()
	admin := testdb.Open(t, testdb.ServerURL(t))
	var dbName string
	if err := env.DB.QueryRow(`SELECT current_database()`).Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		rows, err := admin.Query(`SELECT pid FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE 'WITH bal AS MATERIALIZED%' AND datname = $1`, dbName)
		if err != nil {
			t.Fatal(err)
		}
		var pids []int
		for rows.Next() {
			var pid int
			rows.Scan(&pid)
			pids = append(pids, pid)
		}
		rows.Close()
		if len(pids) >= n {
			return pids
		}
	}
	t.Fatalf("fewer than %d postings waited on the balance lock", n)
	return nil
}

// Two duplicates of a debit that empties the balance wait on the lock
// together: the first applies it; the second, whose snapshot predates the
// first's commit, must answer with the original entry, not with
// "insufficient credits" although the balance is now short.
func TestRacingDuplicateDebitIsReplayedNotRefused(t *testing.T) {
	testdb.SkipOnCitus(t, "the balance lock is held on a worker; the probe reads the coordinator's lock waits")
	env := ledgertest.New(t)
	tenant, ctx := env.Tenant(t, "")
	post(t, env, ctx, topup, 500, "t")
	release := holdBalance(t, env, tenant)
	p := ledger.Posting{Kind: expiry, Amount: -500, IdempotencyKey: "expire-all"}
	type result struct {
		e   *ledger.Entry
		err error
	}
	results := make(chan result, 2)
	for range 2 {
		go func() { e, err := env.Post(ctx, p); results <- result{e, err} }()
	}
	waitForPostings(t, env, 2)
	release()
	applied := 0
	for range 2 {
		r := <-results
		if r.err != nil {
			t.Fatalf("duplicate of an applied debit: %v", r.err)
		}
		if !r.e.Replayed {
			applied++
		}
	}
	if applied != 1 || env.Balance(t, ctx) != 0 {
		t.Fatalf("applied %d times, balance %d", applied, env.Balance(t, ctx))
	}
}

// A posting that committed but whose answer was lost (the link is cut as
// the server replies) is rerun by the layer: the rerun replays it, nothing
// doubles.
func TestPostingAnswerLostAppliesOnceOnRetry(t *testing.T) {
	rawURL := testdb.URL(t)
	px := newCutProxy(t, rawURL)
	proxied := testdb.Open(t, px.url)
	direct := testdb.Open(t, rawURL)
	l := ledger.New(nil, proxied)
	directLedger := ledger.New(nil, direct)
	testdb.Tenants(t, direct, "tenant-cut")
	ctx := privacy.WithTenant(context.Background(), "tenant-cut")

	if _, err := directLedger.Post(privacy.WithSystem(ctx), ledger.Posting{Kind: topup, Amount: 1000, IdempotencyKey: "credit", TenantID: "tenant-cut"}); err != nil {
		t.Fatal(err)
	}
	// Warm the connection and its prepared statement through the proxy.
	if _, err := l.Post(ctx, ledger.Posting{Kind: usage, Amount: -50, IdempotencyKey: "warm"}); err != nil {
		t.Fatal(err)
	}
	p := ledger.Posting{Kind: usage, Amount: -250, IdempotencyKey: "answer-lost"}
	px.cutNextReply()
	// The layer reruns the posting on a new connection and reports the
	// replay: the first attempt had committed.
	e, err := l.Post(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Replayed || e.BalanceAfter != 700 {
		t.Fatalf("rerun: replayed %v balance_after %d, want the original entry", e.Replayed, e.BalanceAfter)
	}
	if b, _ := directLedger.Balance(ctx); b != 700 {
		t.Fatalf("balance %d after the retry, want 700", b)
	}
	r, err := directLedger.Reconcile(ctx)
	if err != nil || !r.OK() {
		t.Fatal(r, err)
	}
}

// cutProxy forwards TCP to PostgreSQL; armed, it closes the connection as
// soon as the server starts replying, after the server has done the work.
type cutProxy struct {
	url   string
	armed atomic.Bool
}

func newCutProxy(t *testing.T, rawURL string) *cutProxy {
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	u.Host = ln.Addr().String()
	p := &cutProxy{url: u.String()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	// Pools may outlive the test's handles: close their links here.
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, client, server)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(server, client); server.Close() }()
			go func() { defer wg.Done(); p.reply(client, server) }()
		}
	}()
	return p
}

func (p *cutProxy) cutNextReply() { p.armed.Store(true) }

func (p *cutProxy) reply(client, server net.Conn) {
	defer client.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := server.Read(buf)
		if n > 0 && p.armed.CompareAndSwap(true, false) {
			server.Close()
			return
		}
		if n > 0 {
			if _, werr := client.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
