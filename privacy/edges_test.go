package privacy_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/internal/migrate/tenantkeys"
	"github.com/leadmetrics/db/internal/runtime/scope"
	"github.com/leadmetrics/db/internal/testing/tenancytest"
	"github.com/leadmetrics/db/privacy"
)

// edgeProbe exercises one edge; edges_gen_test.go has one per edge of the
// schema graph (go generate ./privacy).
type edgeProbe struct {
	From, Edge, To, FKColumn string
	OwnFK                    bool // the From table holds the foreign key
	Query                    func(ctx context.Context, c *ent.Client, from string) ([]string, error)
	Node                     func(ctx context.Context, c *ent.Client, own, from string) ([]string, error)
	With                     func(ctx context.Context, c *ent.Client) (map[string][]string, error)
	Has                      func(ctx context.Context, c *ent.Client, to ...string) ([]string, error)
	Hostile                  hostileEdge // the same paths with a caller's selector function
}

// The probes must cover exactly the graph's edges: a stale file fails here
// (and in CI's "go generate is a no-op").
func TestEdgeProbesCoverGraph(t *testing.T) {
	var want, have []string
	for _, n := range scope.Nodes() {
		for name := range n.Edges {
			want = append(want, n.Type+"."+name)
		}
	}
	for _, p := range edgeProbes {
		have = append(have, p.From+"."+p.Edge)
	}
	sort.Strings(want)
	sort.Strings(have)
	if !slices.Equal(want, have) {
		t.Fatalf("edge probes are stale: run go generate ./privacy\n graph: %v\nprobes: %v", want, have)
	}
}

// edgeRows makes rows at both ends of edges and links them with raw SQL.
type edgeRows struct{ env *tenancytest.Env }

// row returns a row of typ belonging to tenant: the tenant itself for the
// Tenant entity, a platform row for shared entities.
func (r edgeRows) row(typ, tenant string) string {
	n, _ := scope.Lookup(typ)
	if n.Kind == scope.KindTenant {
		return tenant
	}
	return r.env.Insert(typ, tenant, nil)
}

func (r edgeRows) link(p edgeProbe, from, to string) {
	if err := r.tryLink(p, from, to); err != nil {
		r.env.T.Fatalf("link %s.%s: %v", p.From, p.Edge, err)
	}
}

func (r edgeRows) tryLink(p edgeProbe, from, to string) error {
	holder, target, typ := to, from, p.To
	if p.OwnFK {
		holder, target, typ = from, to, p.From
	}
	n, _ := scope.Lookup(typ)
	q := fmt.Sprintf(`UPDATE %q SET %q = $1 WHERE id = $2`, n.Table, p.FKColumn)
	_, err := r.env.DB.Exec(q, target, holder)
	return err
}

// unenforced reports whether the database has no foreign key for p's
// column (tenantkeys.Unenforced).
func (r edgeRows) unenforced(p edgeProbe) bool {
	typ := p.To
	if p.OwnFK {
		typ = p.From
	}
	n, _ := scope.Lookup(typ)
	return slices.Contains(tenantkeys.Unenforced, n.Table+"."+p.FKColumn)
}

func isFKViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}

func (r edgeRows) setDeleted(typ, id string, deleted bool) {
	n, _ := scope.Lookup(typ)
	// The time is a parameter: Citus refuses now() inside CASE.
	q := fmt.Sprintf(`UPDATE %q SET deleted_at = CASE WHEN $1 THEN $3::timestamptz END WHERE id = $2`, n.Table)
	if _, err := r.env.DB.Exec(q, deleted, id, time.Now()); err != nil {
		r.env.T.Fatalf("mark deleted: %v", err)
	}
}

// For every edge of the graph: traversal (QueryX from a query and from a
// node), eager loading (WithX) and the edge predicate (HasXWith) run by
// tenant B never surface a row of tenant A, even when the data holds a
// cross-tenant link written behind the layer's back; positive controls
// prove each probe finds B's own rows, and soft-deleted neighbours stay
// hidden.
func TestEdgeIsolation(t *testing.T) {
	env := tenancytest.New(t, 2)
	a, b := env.Tenants[0], env.Tenants[1]
	ctxB := privacy.WithTenant(context.Background(), b)
	r := edgeRows{env}
	for _, p := range edgeProbes {
		t.Run(p.From+"."+p.Edge, func(t *testing.T) {
			fromNode, _ := scope.Lookup(p.From)
			toNode, _ := scope.Lookup(p.To)
			noneOfA := func(what, typ string, ids []string, err error) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				for _, id := range ids {
					if env.Owner(typ, id) == a {
						t.Errorf("%s surfaced tenant A's %s %s", what, typ, id)
					}
				}
			}
			fa, ta := r.row(p.From, a), r.row(p.To, a)
			r.link(p, fa, ta)
			fb, tb := r.row(p.From, b), r.row(p.To, b)
			r.link(p, fb, tb)

			// Positive controls: B's own link is found by every probe.
			if got, err := p.Query(ctxB, env.Client, fb); err != nil || !slices.Contains(got, tb) {
				t.Fatalf("Query from B's row: %v %v, want %s", got, err, tb)
			}
			with, err := p.With(ctxB, env.Client)
			if err != nil || !slices.Contains(with[fb], tb) {
				t.Fatalf("With: %v %v, want %s under %s", with[fb], err, tb, fb)
			}
			if got, err := p.Has(ctxB, env.Client, tb); err != nil || !slices.Contains(got, fb) {
				t.Fatalf("Has: %v %v, want %s", got, err, fb)
			}

			// A's rows never surface.
			got, err := p.Query(ctxB, env.Client, fa)
			noneOfA("Query from A's row", p.To, got, err)
			got, err = p.Node(ctxB, env.Client, fb, fa)
			noneOfA("Query from A's node", p.To, got, err)
			got, err = p.Has(ctxB, env.Client, ta)
			noneOfA("Has(A's row)", p.From, got, err)
			keys := make([]string, 0, len(with))
			for k, v := range with {
				keys = append(keys, k)
				noneOfA("With (loaded edge)", p.To, v, nil)
			}
			noneOfA("With (roots)", p.From, keys, nil)

			// A cross-tenant link written with raw SQL (a bug elsewhere,
			// another tool) is refused by the database itself: the foreign
			// key is (tenant_id, x_id) -> (tenant_id, id) (internal/migrate/tenantkeys).
			// A history reference has no key (tenantkeys.Unenforced): the
			// link is stored, and B's reads still never follow it into A.
			if owned(toNode) && owned(fromNode) {
				fb2, ta2 := r.row(p.From, b), r.row(p.To, a)
				err := r.tryLink(p, fb2, ta2)
				switch {
				case r.unenforced(p) && err != nil:
					t.Errorf("raw cross-tenant link %s.%s (no foreign key): %v", p.From, p.Edge, err)
				case r.unenforced(p):
					got, err := p.Query(ctxB, env.Client, fb2)
					noneOfA("Query over a raw cross-tenant link", p.To, got, err)
					got, err = p.Has(ctxB, env.Client, ta2)
					noneOfA("Has over a raw cross-tenant link", p.From, got, err)
				case !isFKViolation(err):
					t.Errorf("raw cross-tenant link %s.%s: %v, want a foreign key violation (23503)", p.From, p.Edge, err)
				}
			}

			// A soft-deleted neighbour is hidden from every probe.
			if toNode.SoftDelete {
				r.setDeleted(p.To, tb, true)
				defer r.setDeleted(p.To, tb, false)
				if got, err := p.Has(ctxB, env.Client, tb); err != nil || slices.Contains(got, fb) {
					t.Errorf("Has matched a deleted neighbour: %v %v", got, err)
				}
				if got, err := p.Query(ctxB, env.Client, fb); err != nil || slices.Contains(got, tb) {
					t.Errorf("Query returned a deleted neighbour: %v %v", got, err)
				}
			}
		})
	}
}

// owned reports whether n's rows belong to a tenant (not the platform's
// catalog, not the tenants table).
func owned(n *scope.Node) bool { return n.Kind != scope.KindShared && n.Kind != scope.KindTenant }
