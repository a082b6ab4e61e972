package privacy

import (
	"context"
	"fmt"
	"sync"
	"time"

	"entgo.io/ent"
	"entgo.io/ent/dialect"

	gen "github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/tenant"
	"github.com/leadmetrics/db/internal/runtime/scope"
)

// TenantStateTTL bounds how stale the lifecycle gate's view of a tenant
// may be when its status changes where this process cannot hear of it:
// in another process (a service replica, dbctl) or by raw SQL. Such a
// change reaches this process's gate within this time after it commits. A
// change made through Ent in this process (client, client.Tx, db.WithTx)
// reaches it as it commits: the Tenant hook drops the cache then.
//
// Why a short TTL rather than LISTEN/NOTIFY: a listener needs a session of
// its own, which PgBouncer's transaction pooling does not give, and Citus
// refuses triggers on reference tables (tenants is one), so raw SQL there
// would notify no one; a TTL bounds every deployment the same way. The
// cost is one primary-key read per tenant per second per process, only
// for tenants that write: a warm write (the tenant wrote in the last
// second) makes no extra round trip.
const TenantStateTTL = time.Second

// tenantStates caches, per tenant id, whether the tenant may write, so that
// a warm write costs no extra round trip. Entries are keyed by tenant id
// only: a process that opens several databases holding the same tenant ids
// shares them (tenant ids are cuids, unique across databases in practice).
var tenantStates = struct {
	sync.Mutex
	gen     uint64 // bumped by every invalidation
	entries map[string]tenantState
}{entries: map[string]tenantState{}}

type tenantState struct {
	err     error // nil: active
	expires time.Time
}

// InvalidateTenantStates forgets every cached tenant state. The Tenant hook
// calls it on every tenant mutation made through Ent; call it after
// changing tenants.status or deleted_at by raw SQL in this process.
func InvalidateTenantStates() {
	tenantStates.Lock()
	tenantStates.gen++
	clear(tenantStates.entries)
	tenantStates.Unlock()
}

// CheckTenantActive returns nil when tenantID is a live, active tenant, and
// an error matching ErrTenantInactive otherwise (unknown, soft-deleted,
// suspended or closed). It reads the tenant through c (so inside c's
// transaction) only when the cached answer is missing or older than
// TenantStateTTL.
func CheckTenantActive(ctx context.Context, c *gen.Client, tenantID string) error {
	err, g, ok := cachedTenantState(tenantID)
	if ok {
		return err
	}
	return lookupTenantState(ctx, c, tenantID, g)
}

// cachedTenantState is CheckTenantActive's answer when the cache holds a
// fresh one (ok), and the cache's generation.
func cachedTenantState(tenantID string) (err error, g uint64, ok bool) {
	tenantStates.Lock()
	st, ok := tenantStates.entries[tenantID]
	g = tenantStates.gen
	tenantStates.Unlock()
	if !ok || !time.Now().Before(st.expires) {
		return nil, g, false
	}
	return st.err, g, true
}

// lookupTenantState reads the tenant's state and caches it unless an
// invalidation raced the read (the generation moved past g).
func lookupTenantState(ctx context.Context, c *gen.Client, tenantID string, g uint64) error {
	now := time.Now()
	t, err := c.Tenant.Query().Where(tenant.ID(tenantID)).Only(scope.WithDeleted(WithSystem(ctx)))
	switch {
	case gen.IsNotFound(err):
		err = fmt.Errorf("%w: tenant %q does not exist", ErrTenantInactive, tenantID)
	case err != nil:
		return err // not cached: a failed lookup says nothing about the tenant
	case t.DeletedAt != nil:
		err = fmt.Errorf("%w: tenant %q is deleted", ErrTenantInactive, tenantID)
	case t.Status != tenant.StatusActive:
		err = fmt.Errorf("%w: tenant %q is %s", ErrTenantInactive, tenantID, t.Status)
	}
	tenantStates.Lock()
	if tenantStates.gen == g { // no invalidation raced this lookup
		tenantStates.entries[tenantID] = tenantState{err: err, expires: now.Add(TenantStateTTL)}
	}
	tenantStates.Unlock()
	return err
}

// checkLifecycle is the gate of a tenant viewer's mutation.
func checkLifecycle(ctx context.Context, v Viewer, m ent.Mutation) error {
	if err, _, ok := cachedTenantState(v.TenantID); ok {
		return err // warm: no client built (building one allocates every entity's client)
	}
	c, ok := m.(interface{ Client() *gen.Client })
	if !ok {
		return fmt.Errorf("%w: mutation %T has no client", ErrTenantInactive, m)
	}
	return CheckTenantActive(ctx, c.Client(), v.TenantID)
}

// AfterCommitter is a transaction driver that runs functions once its
// transaction commits. db.WithTx's Ent driver is one; the Tenant hook
// registers the gate's invalidation with it, as it does with Ent's own
// transactions (client.Tx).
type AfterCommitter interface{ AfterCommit(fn func()) }

// invalidateOnTenantChange is the Tenant entity's hook: once a tenant
// mutation has run, and again when its transaction commits, the cached
// states are dropped, so the next write of any viewer sees the new status
// (a lookup between the write and the commit would otherwise cache the old
// state).
func invalidateOnTenantChange() ent.Hook {
	return func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			InvalidateTenantStates()
			v, err := next.Mutate(ctx, m)
			InvalidateTenantStates()
			invalidateAtCommit(m)
			return v, err
		})
	}
}

// invalidateAtCommit drops the cached states again when the transaction m
// runs in commits: Ent's own (client.Tx) or an outside one whose driver is
// an AfterCommitter (db.WithTx). Outside a transaction m has committed
// already. Only the context-free driver decides, so it holds whichever
// context the caller's statements use.
func invalidateAtCommit(m ent.Mutation) {
	if t, ok := m.(interface{ Tx() (*gen.Tx, error) }); ok {
		if tx, err := t.Tx(); err == nil {
			tx.OnCommit(func(next gen.Committer) gen.Committer {
				return gen.CommitFunc(func(ctx context.Context, tx *gen.Tx) error {
					err := next.Commit(ctx, tx)
					InvalidateTenantStates()
					return err
				})
			})
			return
		}
	}
	n, ok := scope.Lookup(m.Type())
	if !ok {
		return
	}
	drv := n.Driver(m)
	for {
		d, ok := drv.(*dialect.DebugDriver) // client.Debug() inside db.WithTx
		if !ok {
			break
		}
		drv = d.Driver
	}
	if c, ok := drv.(AfterCommitter); ok {
		c.AfterCommit(InvalidateTenantStates)
	}
}
