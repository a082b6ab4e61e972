package scaleload

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent/creditledgerentry"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
)

// LoadOptions says how ReconcileUnderLoad posts.
type LoadOptions struct {
	Tenants  int           // of the data set; postings pick them with the 1/rank skew
	Workers  int           // concurrent posters (default 8)
	Duration time.Duration // postings alone, then postings while reconciling (default 10 s each)
}

// Timing is the durations of one reconciliation, idle and under load.
type Timing struct{ Idle, Load []time.Duration }

// Postings is what the posting workers did in one phase.
type Postings struct {
	N             int64
	Seconds       float64
	P50, P99, Max time.Duration
	// Lock waits of posting statements, sampled every 10 ms: on anything
	// (mostly the hot tenant's balance row), and on a reconciling session.
	Samples, Waits, WaitsOnReconcile int64
}

// PerSec is the phase's postings per second.
func (p Postings) PerSec() float64 { return float64(p.N) / p.Seconds }

// ReconcileLoad is what ReconcileUnderLoad measured.
type ReconcileLoad struct {
	All, Largest, Small Timing
	Alone, During       Postings // postings without, then while, reconciling
}

// Application names that tell the sampler which session is which.
const (
	appPost      = "scaleload-post"
	appReconcile = "scaleload-reconcile"
)

// ReconcileUnderLoad times the reconciliation of every tenant, of the
// largest one and of a small one (rank Tenants/2), idle and then while
// Workers post usage entries through the layer (ledger.Post, tenant
// viewers, tenants picked with the data set's skew), and reports the
// postings' throughput and latency without and with the reconciliations
// running, and how often a posting waited on a lock a reconciling session
// held. It writes postings: run it on a copy. before: main's reconcile
// statement, every statement prepared, plan_cache_mode auto; after:
// ledger.Reconcile and ReconcileAll with the layer's settings.
func ReconcileUnderLoad(ctx context.Context, url string, before bool, o LoadOptions) (*ReconcileLoad, error) {
	if o.Workers == 0 {
		o.Workers = 8
	}
	if o.Duration == 0 {
		o.Duration = 10 * time.Second
	}
	open := func(app string, n int) (*sql.DB, error) {
		cfg := db.DefaultConfig()
		cfg.URL, cfg.PoolMin, cfg.PoolMax, cfg.ApplicationName = url, n, n, app
		if before {
			// pgx's default: every statement prepared (a URL's own mode wins over the layer's)
			cfg.URL = withParam(url, "default_query_exec_mode=cache_statement")
		}
		return db.OpenDB(ctx, cfg)
	}
	posts, err := open(appPost, o.Workers)
	if err != nil {
		return nil, err
	}
	defer posts.Close()
	rdb, err := open(appReconcile, 1)
	if err != nil {
		return nil, err
	}
	defer rdb.Close()
	sampler, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer sampler.Close(ctx)

	l := ledger.New(db.NewClient(posts), posts)
	rl := ledger.New(db.NewClient(rdb), rdb)
	small := TenantID(max(o.Tenants/2, 1))
	reconcile := func(tenant string) (time.Duration, error) {
		start := time.Now()
		if before {
			var arg any // NULL: every tenant
			if tenant != "" {
				arg = tenant
			}
			rows, err := rdb.QueryContext(ctx, mainReconcileSQL, arg)
			if err != nil {
				return 0, err
			}
			for rows.Next() {
			}
			rows.Close()
			return time.Since(start), rows.Err()
		}
		var rep *ledger.Report
		if tenant == "" {
			rep, err = rl.ReconcileAll(privacy.WithSystem(ctx))
		} else {
			rep, err = rl.Reconcile(privacy.WithTenant(ctx, tenant))
		}
		if err == nil && !rep.OK() {
			err = fmt.Errorf("scaleload: %s", rep)
		}
		return time.Since(start), err
	}
	res := &ReconcileLoad{}
	// round reconciles every tenant once and the largest and small tenant
	// three times each, adding the durations to idle or load.
	round := func(load bool) error {
		for _, c := range []struct {
			t      *Timing
			tenant string
			n      int
		}{{&res.All, "", 1}, {&res.Largest, TenantID(1), 3}, {&res.Small, small, 3}} {
			for range c.n {
				d, err := reconcile(c.tenant)
				if err != nil {
					return err
				}
				if load {
					c.t.Load = append(c.t.Load, d)
				} else {
					c.t.Idle = append(c.t.Idle, d)
				}
			}
		}
		return nil
	}
	for range 2 {
		if err := round(false); err != nil {
			return nil, err
		}
	}
	if res.Alone, err = post(ctx, l, sampler, o, func(stop <-chan struct{}) error {
		<-stop
		return nil
	}); err != nil {
		return nil, err
	}
	// Reconcile until the phase's time is up, at least one round.
	res.During, err = post(ctx, l, sampler, o, func(stop <-chan struct{}) error {
		for {
			if err := round(true); err != nil {
				return err
			}
			select {
			case <-stop:
				return nil
			default:
			}
		}
	})
	return res, err
}

// post runs o.Workers posters for o.Duration and, beside them, during
// (whose stop channel closes when the time is up; the phase ends when
// during returns), and samples the posters' lock waits.
func post(ctx context.Context, l *ledger.Ledger, sampler *pgx.Conn, o LoadOptions, during func(stop <-chan struct{}) error) (Postings, error) {
	// Cumulative 1/rank weights: a uniform draw picks rank r with
	// probability proportional to 1/r.
	cum := make([]float64, o.Tenants)
	h := 0.0
	for r := 1; r <= o.Tenants; r++ {
		h += 1 / float64(r)
		cum[r-1] = h
	}
	run := cuid.New()
	var done atomic.Bool
	var wg sync.WaitGroup
	lat := make([][]time.Duration, o.Workers)
	errs := make(chan error, o.Workers+1)
	start := time.Now()
	for w := range o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			for i := 0; !done.Load(); i++ {
				r := sort.SearchFloat64s(cum, rnd.Float64()*h) + 1
				t0 := time.Now()
				_, err := l.Post(privacy.WithTenant(ctx, TenantID(min(r, o.Tenants))), ledger.Posting{
					Kind: creditledgerentry.KindUsage, Amount: -1, IdempotencyKey: fmt.Sprintf("load:%s:%d:%d", run, w, i)})
				if err != nil {
					errs <- fmt.Errorf("scaleload: posting: %w", err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	var p Postings
	stop := make(chan struct{})
	duringDone := make(chan error, 1)
	go func() { duringDone <- during(stop) }()
	timer := time.NewTimer(o.Duration)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var derr error
sampling:
	for {
		select {
		case <-timer.C:
			close(stop)
		case derr = <-duringDone:
			break sampling
		case <-tick.C:
			var waits, onReconcile int64
			if err := sampler.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE EXISTS (
					SELECT 1 FROM pg_stat_activity r WHERE r.pid = ANY (pg_blocking_pids(w.pid)) AND r.application_name = $2))
				FROM pg_stat_activity w WHERE w.datname = current_database() AND w.application_name = $1
					AND w.wait_event_type = 'Lock'`, appPost, appReconcile).Scan(&waits, &onReconcile); err != nil {
				derr = err
				break sampling
			}
			p.Samples++
			p.Waits += waits
			p.WaitsOnReconcile += onReconcile
		}
	}
	done.Store(true)
	wg.Wait()
	p.Seconds = time.Since(start).Seconds()
	close(errs)
	if derr != nil {
		return p, derr
	}
	if err := <-errs; err != nil {
		return p, err
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	p.N = int64(len(all))
	if p.N > 0 {
		p.P50, p.P99, p.Max = all[len(all)/2], all[len(all)*99/100], all[len(all)-1]
	}
	return p, nil
}

// Median of ds (0 when empty).
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
