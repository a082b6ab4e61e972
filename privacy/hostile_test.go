package privacy_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"testing"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/internal/scope"
	"github.com/leadmetrics/db/internal/tenancytest"
	"github.com/leadmetrics/db/privacy"
)

// Hostile selectors: tenant code controls every argument, including the
// functions it hands the builders (predicates, orders, aggregates), which
// receive a *sql.Selector and may call anything on it. Whatever they do,
// tenant A sees and changes only its own live rows. nodeProbes and the
// Hostile part of edgeProbes (edges_gen_test.go) are generated from the
// schema graph, so every entity and edge is covered.

type (
	readProbe  func(ctx context.Context, c *ent.Client, p func(*entsql.Selector)) ([]string, error)
	countProbe func(ctx context.Context, c *ent.Client, p func(*entsql.Selector)) (int, error)
	aggProbe   func(ctx context.Context, c *ent.Client, a func(*entsql.Selector) string) ([]string, int, error)
	nodeProbe  struct {
		Type                      string
		Reads                     map[string]readProbe  // ids seen (or changed)
		Counts                    map[string]countProbe // rows counted (or changed)
		Aggregate, GroupAggregate aggProbe
	}
	hostileEdge struct{ Query, From, With, Has readProbe }
)

type targetKey struct{}

// probeTarget is the row id a probe's UpdateOneID/DeleteOneID aims at.
func probeTarget(ctx context.Context) string { s, _ := ctx.Value(targetKey{}).(string); return s }

type hostile struct {
	name string
	fn   func(*entsql.Selector)
}

// hostiles are selector functions that try to leave the tenant scope, for
// rows of table; other is another tenant and otherIDs its rows there. The
// five attacks found from outside come first.
func hostiles(table, other string, otherIDs []string) []hostile {
	ids := make([]any, len(otherIDs))
	for i, id := range otherIDs {
		ids[i] = id
	}
	toOther := func(s *entsql.Selector) { s.Where(entsql.EQ(s.C("tenant_id"), other)) }
	return []hostile{
		{"Not", func(s *entsql.Selector) { s.Not() }},
		{"OrAway", func(s *entsql.Selector) { s.Where(entsql.NotNull(s.C("id"))).Or() }},
		{"CollectPredicates", func(s *entsql.Selector) { s.CollectPredicates() }},
		{"SetPNil", func(s *entsql.Selector) { s.SetP(nil) }},
		{"ExprPEscape", func(s *entsql.Selector) { s.Where(entsql.ExprP("TRUE) OR (TRUE")) }},
		{"NotNot", func(s *entsql.Selector) { s.Not().Not() }},
		{"NotAfterWhere", func(s *entsql.Selector) { toOther(s); s.Not() }},
		{"OrOther", func(s *entsql.Selector) { s.Or(); toOther(s) }},
		{"OrAcrossGroups", func(s *entsql.Selector) {
			s.Where(entsql.Or(entsql.And(entsql.NotNull(s.C("id")), entsql.EQ(s.C("tenant_id"), other)), entsql.IsNull(s.C("id"))))
			s.Or()
		}},
		{"NestedNot", func(s *entsql.Selector) {
			s.Where(entsql.Not(entsql.Not(entsql.EQ(s.C("tenant_id"), other))))
			s.Not()
		}},
		{"SetPOther", func(s *entsql.Selector) { s.SetP(entsql.EQ(s.C("tenant_id"), other)) }},
		{"InOtherIDs", func(s *entsql.Selector) { s.Where(entsql.In(s.C("id"), ids...)) }},
		{"InOtherIDsNot", func(s *entsql.Selector) { s.Where(entsql.In(s.C("id"), ids...)); s.Not() }},
		{"JoinedTable", func(s *entsql.Selector) {
			j := entsql.Table(table).As("j")
			s.Join(j).On(s.C("id"), j.C("id"))
			s.Where(entsql.EQ(j.C("tenant_id"), other))
		}},
		{"SelectExpr", func(s *entsql.Selector) { s.SelectExpr(entsql.Expr(fmt.Sprintf("(SELECT min(id) FROM %q)", table))) }},
		{"FromTable", func(s *entsql.Selector) { s.From(entsql.Table(table)) }},
		{"FromSubquery", func(s *entsql.Selector) {
			s.From(entsql.Select("*").From(entsql.Table(table)).As(table))
		}},
		{"Union", func(s *entsql.Selector) { s.Union(entsql.Select("*").From(entsql.Table(table))) }},
		{"Prefix", func(s *entsql.Selector) {
			s.Prefix(entsql.Expr(fmt.Sprintf("WITH %q AS (SELECT * FROM %q)", table, table)))
		}},
		{"TableAlias", func(s *entsql.Selector) {
			if t := s.Table(); t != nil {
				t.As("x")
			}
		}},
		{"LimitDistinct", func(s *entsql.Selector) { s.Limit(1000).Distinct().Offset(0) }},
		{"ExprPOther", func(s *entsql.Selector) { s.Where(entsql.ExprP("tenant_id = '" + other + "'")) }},
		{"ExprPUnion", func(s *entsql.Selector) {
			s.Where(entsql.ExprP(fmt.Sprintf("FALSE) UNION SELECT * FROM %q --", table)))
		}},
		{"ExprPComment", func(s *entsql.Selector) { s.Where(entsql.ExprP("TRUE OR TRUE --")) }},
		{"ExprPBlockComment", func(s *entsql.Selector) { s.Where(entsql.ExprP("TRUE /* ) OR (TRUE */")) }},
		{"ExprPSemicolon", func(s *entsql.Selector) { s.Where(entsql.ExprP("TRUE; DELETE FROM " + table)) }},
		{"ExprPPlaceholder", func(s *entsql.Selector) { s.Where(entsql.ExprP("tenant_id <> $1")) }},
		{"ExprPDollarQuote", func(s *entsql.Selector) { s.Where(entsql.ExprP("$x$) OR (TRUE$x$ = ''")) }},
		{"ExprPEscapeString", func(s *entsql.Selector) { s.Where(entsql.ExprP(`E'\'' = '') OR (TRUE`)) }},
		{"ExprPSetConfig", func(s *entsql.Selector) {
			s.Where(entsql.ExprP("set_config('search_path', 'pg_temp', false) IS NOT NULL"))
		}},
		{"ExprPQualifiedCall", func(s *entsql.Selector) { s.Where(entsql.ExprP("pg_catalog.pg_sleep(0) IS NULL")) }},
	}
}

// hostileAggregates try to leave the scope from an aggregate function.
func hostileAggregates(table string) map[string]func(*entsql.Selector) string {
	return map[string]func(*entsql.Selector) string{
		"Count (control)": func(*entsql.Selector) string { return "COUNT(*)" },
		"SetPNil":         func(s *entsql.Selector) string { s.SetP(nil); return "COUNT(*)" },
		"Not":             func(s *entsql.Selector) string { s.Not(); return "COUNT(*)" },
		"Or":              func(s *entsql.Selector) string { s.Or(); return "COUNT(*)" },
		"FromComment":     func(*entsql.Selector) string { return fmt.Sprintf("COUNT(*) FROM %q --", table) },
		"FromUnion":       func(*entsql.Selector) string { return fmt.Sprintf("COUNT(*) FROM %q UNION SELECT COUNT(*)", table) },
		"Subquery":        func(*entsql.Selector) string { return fmt.Sprintf("(SELECT COUNT(*) FROM %q)", table) },
		"SetConfig":       func(*entsql.Selector) string { return "COUNT(set_config('a.b', 'c', false))" },
		"Unbalanced":      func(*entsql.Selector) string { return "COUNT(*))" },
	}
}

// fixture holds rows of every entity for two tenants: two live rows and
// one soft-deleted row each (the Tenant entity: the tenant itself).
type fixture struct {
	env       *tenancytest.Env
	a, b      string
	rows      map[string]map[string][]string // type -> tenant -> ids
	visibleTo map[string][]string            // type -> ids a tenant viewer of a reads
	// others is the othersDigest of each type's table, taken once: every
	// probe is rolled back, so it never changes (a change that escaped a
	// rollback would show in every later probe's digest).
	others map[string]string
}

func newFixture(t testing.TB) *fixture {
	env := tenancytest.New(t, 2)
	f := &fixture{env: env, a: env.Tenants[0], b: env.Tenants[1], rows: map[string]map[string][]string{},
		visibleTo: map[string][]string{}, others: map[string]string{}}
	r := edgeRows{env}
	for _, n := range scope.Nodes() {
		f.rows[n.Type] = map[string][]string{}
		for _, tenant := range []string{f.a, f.b} {
			if n.Kind == scope.KindTenant {
				f.rows[n.Type][tenant] = []string{tenant}
				continue
			}
			ids := []string{r.row(n.Type, tenant)}
			if !onePerTenant(n.Type) {
				ids = append(ids, r.row(n.Type, tenant), r.row(n.Type, tenant))
				if n.SoftDelete {
					r.setDeleted(n.Type, ids[2], true)
				}
			}
			f.rows[n.Type][tenant] = ids
		}
	}
	for _, n := range scope.Nodes() { // after every insert: parents were made along
		f.visibleTo[n.Type] = f.liveOf(n, f.a)
	}
	return f
}

// onePerTenant reports whether typ has a unique index on tenant_id alone
// (the credit balance).
func onePerTenant(typ string) bool {
	for _, idx := range tenancytest.Table(typ).Indexes {
		if idx.Unique && len(idx.Columns) == 1 && idx.Columns[0].Name == "tenant_id" {
			return true
		}
	}
	return false
}

// liveOf lists, with raw SQL, the live rows a tenant viewer may read.
func (f *fixture) liveOf(n *scope.Node, tenant string) []string {
	owner := tenant
	if n.Kind == scope.KindShared {
		owner = scope.PlatformTenantID
	}
	var ids []string
	q := fmt.Sprintf(`SELECT id FROM %q WHERE tenant_id = $1 AND deleted_at IS NULL`, n.Table)
	rows, err := f.env.DB.Query(q, owner)
	if err != nil {
		f.env.T.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			f.env.T.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// othersDigest digests every row of table but the viewer's live rows ($1):
// other tenants', the platform's, the viewer's deleted ones.
const othersDigest = `SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t.id)), '') FROM %q t
	WHERE NOT (id = ANY($1))`

// run runs probe in a transaction that is rolled back, and reports what
// the probe saw or changed beyond a's live rows, or a change to any row
// a may not change. An error from the probe is a refusal: fine.
func (f *fixture) run(t *testing.T, name, typ string, probe func(ctx context.Context, c *ent.Client) ([]string, int, error)) {
	t.Helper()
	n, _ := scope.Lookup(typ)
	ctx := privacy.WithTenant(context.WithValue(context.Background(), targetKey{}, f.rows[typ][f.b][0]), f.a)
	visible := f.visibleTo[typ]
	before, ok := f.others[typ]
	if !ok {
		if err := f.env.DB.QueryRow(fmt.Sprintf(othersDigest, n.Table), visible).Scan(&before); err != nil {
			t.Fatal(err)
		}
		f.others[typ] = before
	}
	tx, err := f.env.Client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	seen, count, perr := probe(ctx, tx.Client())
	if perr != nil {
		return
	}
	for _, id := range seen {
		if !slices.Contains(visible, id) {
			t.Errorf("%s: saw or changed %s, not a live row of the viewer's tenant", name, id)
		}
	}
	if count > len(visible) {
		t.Errorf("%s: counted or changed %d rows, the viewer has %d", name, count, len(visible))
	}
	rows, err := tx.Client().QueryContext(ctx, fmt.Sprintf(othersDigest, n.Table), visible)
	if err != nil {
		t.Fatalf("%s: digest: %v", name, err)
	}
	defer rows.Close()
	var after sql.NullString
	for rows.Next() {
		if err := rows.Scan(&after); err != nil {
			t.Fatal(err)
		}
	}
	if after.String != before {
		t.Errorf("%s: changed rows of another tenant, the platform or deleted rows", name)
	}
}

// Every entity x every builder x every hostile function: as tenant a,
// nothing of b (or of a's deleted rows) is seen, counted or changed.
func TestHostileSelectors(t *testing.T) {
	f := newFixture(t)
	if len(nodeProbes) != len(scope.Nodes()) {
		t.Fatalf("node probes are stale (%d probes, %d entities): run go generate ./privacy", len(nodeProbes), len(scope.Nodes()))
	}
	for _, np := range nodeProbes {
		n, _ := scope.Lookup(np.Type)
		for _, h := range hostiles(n.Table, f.b, f.rows[np.Type][f.b]) {
			for name, read := range np.Reads {
				f.run(t, np.Type+"."+name+"/"+h.name, np.Type, func(ctx context.Context, c *ent.Client) ([]string, int, error) {
					ids, err := read(ctx, c, h.fn)
					return ids, len(ids), err
				})
			}
			for name, count := range np.Counts {
				f.run(t, np.Type+"."+name+"/"+h.name, np.Type, func(ctx context.Context, c *ent.Client) ([]string, int, error) {
					n, err := count(ctx, c, h.fn)
					return nil, n, err
				})
			}
		}
		for name, agg := range hostileAggregates(n.Table) {
			for kind, probe := range map[string]aggProbe{"Aggregate": np.Aggregate, "GroupBy.Aggregate": np.GroupAggregate} {
				f.run(t, np.Type+"."+kind+"/"+name, np.Type, func(ctx context.Context, c *ent.Client) ([]string, int, error) {
					return probe(ctx, c, agg)
				})
			}
		}
	}
	for _, p := range edgeProbes {
		from, _ := scope.Lookup(p.From)
		to, _ := scope.Lookup(p.To)
		for _, h := range hostiles(to.Table, f.b, f.rows[p.To][f.b]) {
			for name, probe := range map[string]readProbe{"Query": p.Hostile.Query, "With": p.Hostile.With} {
				f.run(t, p.From+"."+p.Edge+"."+name+"/"+h.name, p.To, readOnly(probe, h.fn))
			}
			f.run(t, p.From+"."+p.Edge+".Has/"+h.name, p.From, readOnly(p.Hostile.Has, h.fn))
		}
		for _, h := range hostiles(from.Table, f.b, f.rows[p.From][f.b]) {
			f.run(t, p.From+"."+p.Edge+".From/"+h.name, p.To, readOnly(p.Hostile.From, h.fn))
		}
	}
}

func readOnly(probe readProbe, p func(*entsql.Selector)) func(context.Context, *ent.Client) ([]string, int, error) {
	return func(ctx context.Context, c *ent.Client) ([]string, int, error) {
		ids, err := probe(ctx, c, p)
		return ids, len(ids), err
	}
}

// The five attacks reported from outside, on one entity, must be refused
// or harmless, and the legitimate forms of the same calls still work.
func TestHostileSelectorsKeepLegitimateQueries(t *testing.T) {
	f := newFixture(t)
	ctx := privacy.WithTenant(context.Background(), f.a)
	own := f.visibleTo["Campaign"]
	ids, err := f.env.Client.Campaign.Query().Where(func(s *entsql.Selector) {
		s.Where(entsql.Or(entsql.EQ(s.C("id"), own[0]), entsql.EQ(s.C("id"), f.rows["Campaign"][f.b][0])))
	}).IDs(ctx)
	if err != nil || len(ids) != 1 || ids[0] != own[0] {
		t.Fatalf("an OR over own and foreign ids: %v %v, want only %s", ids, err, own[0])
	}
	n, err := f.env.Client.Campaign.Query().Where(func(s *entsql.Selector) { s.Where(entsql.ExprP("name IS NOT NULL")) }).Count(ctx)
	if err != nil || n != len(own) {
		t.Fatalf("a raw but confined predicate: %d %v, want %d", n, err, len(own))
	}
	if _, err := f.env.Client.Campaign.Query().Where(func(s *entsql.Selector) { s.Where(entsql.ExprP("TRUE) OR (TRUE")) }).IDs(ctx); !errors.Is(err, privacy.ErrUnsafeSQL) {
		t.Fatalf("escaping raw text: %v, want ErrUnsafeSQL", err)
	}
	// One query object, run under two viewers, gets each viewer's rows.
	q := f.env.Client.Campaign.Query()
	for _, tenant := range []string{f.a, f.b} {
		n, err := q.Count(privacy.WithTenant(context.Background(), tenant))
		if want := len(f.rows["Campaign"][tenant]) - 1; err != nil || n != want {
			t.Fatalf("reused query under %s: %d %v, want %d", tenant, n, err, want)
		}
	}
}
