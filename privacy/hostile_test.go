package privacy_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/internal/runtime/scope"
	"github.com/leadmetrics/db/internal/testing/tenancytest"
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

// lockOn returns typ when h is a form that locks rows (fixture.run then
// checks typ's table), else nothing.
func (h hostile) lockOn(typ string) []string {
	if strings.Contains(h.name, "Lock") {
		return []string{typ}
	}
	return nil
}

// hostiles are selector functions that try to leave the tenant scope, for
// rows of table; other is another tenant, otherIDs its rows there and
// visible how many rows of table the viewer may read: baseHostiles and
// raw SQL at any depth (callerSQLHostiles, issue 18).
func hostiles(table, other string, otherIDs []string, visible int) []hostile {
	return append(baseHostiles(table, other, otherIDs), callerSQLHostiles(table, other, otherIDs, visible)...)
}

// baseHostiles call the selector's own methods to leave the scope, and
// raw text that leaves its clause; the five attacks found from outside
// come first.
func baseHostiles(table, other string, otherIDs []string) []hostile {
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

// callerSQLForms: raw SQL that reads table at any depth, in every syntax
// of a sub-select, keyed by name. A canary form raises an error naming
// "leak-canary" when its condition sees a row the viewer may not read
// (more than visible rows, another tenant's row); an error form raises one
// quoting another tenant's row (fixture.run refuses both); a lock form
// tries to lock every row it reads (fixture.run checks that no row of
// another tenant is locked); the rest are forms the grammar refuses.
// other is another tenant, otherIDs its rows of table, visible how many
// rows of table the viewer may read.
func callerSQLForms(table, other string, otherIDs []string, visible int) map[string]string {
	t := strconv.Quote(table)
	foreign := "" // a row the viewer may not read (the last: for shared rows, the deleted one)
	if len(otherIDs) > 0 {
		foreign = otherIDs[len(otherIDs)-1]
	}
	forms := map[string]string{}
	for name, cond := range map[string]string{ // true only when a foreign (or deleted) row is seen
		"Select":       fmt.Sprintf("EXISTS (SELECT 1 FROM %s WHERE tenant_id = '%s')", t, other),
		"Table":        fmt.Sprintf("EXISTS (TABLE %s OFFSET %d)", t, visible),
		"Scalar":       fmt.Sprintf("(SELECT count(*) FROM %s) > %d", t, visible),
		"Any":          fmt.Sprintf("%d < ANY (SELECT count(*) FROM %s)", visible, t),
		"In":           fmt.Sprintf("'%s' IN (SELECT id FROM %s)", foreign, t),
		"Array":        fmt.Sprintf("'%s' = ANY (ARRAY(SELECT id FROM %s))", foreign, t),
		"Aliased":      fmt.Sprintf("EXISTS (SELECT 1 FROM %s AS x WHERE x.id = $$%s$$)", t, foreign),
		"TwoRelations": fmt.Sprintf("EXISTS (SELECT 1 FROM %s x, %s y WHERE x.tenant_id <> y.tenant_id)", t, t),
		"Nested":       fmt.Sprintf("EXISTS (SELECT 1 FROM %s WHERE EXISTS (SELECT 1 FROM %s WHERE tenant_id = '%s'))", t, t, other),
		"Tenants":      fmt.Sprintf("EXISTS (SELECT 1 FROM tenants WHERE id = '%s')", other),
		"Erroring":     fmt.Sprintf("EXISTS (SELECT 1 FROM %s x WHERE x.tenant_id = '%s' AND date_trunc(x.id, x.created_at) IS NULL)", t, other),
	} {
		forms["SubSelect"+name] = "CASE WHEN " + cond + " THEN CAST('leak-canary-' || id AS integer) = 1 ELSE TRUE END"
	}
	for name, text := range map[string]string{
		// errors that would quote a row the viewer may not read
		"CastSubSelect":    fmt.Sprintf("CAST((SELECT id FROM %s WHERE tenant_id = '%s' LIMIT 1) AS integer) = 1", t, other),
		"CastTable":        fmt.Sprintf("CAST((SELECT min(id) FROM %s) || '' AS integer) = 1", t),
		"CastOwnRow":       "CAST(id || '' AS integer) = 1",
		"ErroringOwnRow":   "date_trunc(id, created_at) IS NULL",
		"RegexOwnRow":      "'x' ~ id",
		"CastWholeRowAttr": fmt.Sprintf("CAST((SELECT x.row_to_json FROM %s x WHERE x.tenant_id = '%s' LIMIT 1)::text AS integer) = 1", t, other),
		// refused
		"WholeRowIndirect":  fmt.Sprintf("(SELECT (x).row_to_json FROM %s x LIMIT 1) IS NOT NULL", t),
		"WholeRowCall":      fmt.Sprintf("(SELECT row_to_json(x) FROM %s x LIMIT 1) IS NOT NULL", t),
		"WholeRowStar":      fmt.Sprintf("(SELECT to_jsonb(x.*) FROM %s x LIMIT 1) IS NOT NULL", t),
		"WholeRowSelf":      fmt.Sprintf("%s IS NOT NULL", t),
		"WholeRowCast":      fmt.Sprintf("(SELECT x::text FROM %s x LIMIT 1) IS NOT NULL", t),
		"AttrOwnRow":        fmt.Sprintf("%s.row_to_json IS NOT NULL", t),
		"Regclass":          fmt.Sprintf("'%s'::regclass IS NOT NULL", table),
		"RegclassCast":      fmt.Sprintf("CAST('%s' AS regclass) IS NOT NULL", table),
		"With":              fmt.Sprintf("EXISTS (WITH x AS (TABLE %s) TABLE x)", t),
		"Values":            "EXISTS (VALUES (1))",
		"Lateral":           fmt.Sprintf("EXISTS (SELECT 1 FROM %s x, LATERAL (SELECT x.id) l)", t),
		"SetReturning":      "EXISTS (SELECT 1 FROM generate_series(1, 2))",
		"DerivedTable":      fmt.Sprintf("EXISTS (SELECT 1 FROM (TABLE %s) x)", t),
		"Join":              fmt.Sprintf("EXISTS (SELECT 1 FROM %s x JOIN tenants y ON true)", t),
		"Union":             fmt.Sprintf("EXISTS (TABLE %s UNION TABLE %s)", t, t),
		"OtherSchema":       fmt.Sprintf("EXISTS (SELECT 1 FROM public.%s)", t),
		"Catalog":           "EXISTS (SELECT 1 FROM pg_class)",
		"ServerSetting":     "current_setting('is_superuser') = 'on'",
		"QueryToXML":        fmt.Sprintf("query_to_xml('TABLE %s', true, true, '') IS NOT NULL", table),
		"AdvisoryLock":      "pg_advisory_xact_lock(1) IS NULL",
		"LargeObject":       "lo_import('/etc/hostname') IS NULL",
		"CurrentUser":       "current_user = 'postgres'",
		"SelectInto":        fmt.Sprintf("EXISTS (SELECT 1 INTO x FROM %s)", t),
		"OperatorQualified": "id OPERATOR(pg_catalog.=) id",
	} {
		forms[name] = text
	}
	for _, lock := range []string{"FOR UPDATE", "FOR NO KEY UPDATE", "FOR SHARE", "FOR KEY SHARE NOWAIT", "FOR UPDATE SKIP LOCKED"} {
		forms["Lock "+lock] = fmt.Sprintf("EXISTS (SELECT 1 FROM %s OFFSET 1000 %s)", t, lock)
		forms["LockTable "+lock] = fmt.Sprintf("EXISTS (TABLE %s OFFSET 1000 %s)", t, lock)
	}
	return forms
}

// callerSQLHostiles are callerSQLForms as predicates.
func callerSQLHostiles(table, other string, otherIDs []string, visible int) []hostile {
	return formHostiles("ExprP", callerSQLForms(table, other, otherIDs, visible), func(text string) func(*entsql.Selector) {
		return func(s *entsql.Selector) { s.Where(entsql.ExprP(text)) }
	})
}

// orderHostiles are callerSQLForms as order terms (the Order builder).
func orderHostiles(table, other string, otherIDs []string, visible int) []hostile {
	return formHostiles("Order", callerSQLForms(table, other, otherIDs, visible), func(text string) func(*entsql.Selector) {
		return func(s *entsql.Selector) { s.OrderBy(text) }
	})
}

// formHostiles makes a hostile of each form, in name order.
func formHostiles(prefix string, forms map[string]string, use func(string) func(*entsql.Selector)) []hostile {
	var hs []hostile
	for _, name := range slices.Sorted(maps.Keys(forms)) {
		hs = append(hs, hostile{prefix + name, use(forms[name])})
	}
	return hs
}

// hostileAggregates try to leave the scope from an aggregate function;
// visible is how many rows of table the viewer may read.
func hostileAggregates(table string, visible int) map[string]func(*entsql.Selector) string {
	t := strconv.Quote(table)
	return map[string]func(*entsql.Selector) string{
		"SubSelectCanary": func(*entsql.Selector) string {
			return fmt.Sprintf("sum(CASE WHEN EXISTS (TABLE %s OFFSET %d) THEN CAST('leak-canary-' || id AS integer) ELSE 0 END)", t, visible)
		},
		"CastSubSelect": func(*entsql.Selector) string {
			return fmt.Sprintf("max(CAST((SELECT max(id) FROM %s) || '' AS integer))", t)
		},
		"Lock": func(*entsql.Selector) string {
			return fmt.Sprintf("count(*) FILTER (WHERE EXISTS (TABLE %s OFFSET 1000 FOR UPDATE))", t)
		},
		"AttributeNotation": func(*entsql.Selector) string { return fmt.Sprintf("count(%s.row_to_json)", t) },
		"WholeRow":          func(*entsql.Selector) string { return fmt.Sprintf("count(%s)", t) },
		"Regclass":          func(*entsql.Selector) string { return fmt.Sprintf("count('%s'::regclass)", table) },
		"Count (control)":   func(*entsql.Selector) string { return "COUNT(*)" },
		"SetPNil":           func(s *entsql.Selector) string { s.SetP(nil); return "COUNT(*)" },
		"Not":               func(s *entsql.Selector) string { s.Not(); return "COUNT(*)" },
		"Or":                func(s *entsql.Selector) string { s.Or(); return "COUNT(*)" },
		"FromComment":       func(*entsql.Selector) string { return fmt.Sprintf("COUNT(*) FROM %q --", table) },
		"FromUnion":         func(*entsql.Selector) string { return fmt.Sprintf("COUNT(*) FROM %q UNION SELECT COUNT(*)", table) },
		"Subquery":          func(*entsql.Selector) string { return fmt.Sprintf("(SELECT COUNT(*) FROM %q)", table) },
		"SetConfig":         func(*entsql.Selector) string { return "COUNT(set_config('a.b', 'c', false))" },
		"Unbalanced":        func(*entsql.Selector) string { return "COUNT(*))" },
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
	// rollback would show in every later probe's digest). The fixture is
	// read-only once made, so probes may run in parallel.
	others map[string]string
	// hidden are the ids of every row a's viewer may not read, in any
	// table, and b's tenant id: no error a probe gets may quote one.
	hidden   []string
	lockMu   sync.Mutex // one lock check at a time: two would conflict
	lockConn *sql.Conn
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
		f.hidden = append(f.hidden, f.hiddenOf(n)...)
		var digest string
		if err := env.DB.QueryRow(fmt.Sprintf(othersDigest, n.Table), f.visibleTo[n.Type]).Scan(&digest); err != nil {
			t.Fatal(err)
		}
		f.others[n.Type] = digest
	}
	f.hidden = append(f.hidden, f.b)
	// lockedByProbe's session: one of its own (no connection opened per
	// probe), with no WAL flush per check (locking rows writes them).
	c, err := env.DB.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.ExecContext(context.Background(), `SET synchronous_commit = off`); err != nil {
		t.Fatal(err)
	}
	f.lockConn = c
	return f
}

// hiddenOf lists, with raw SQL, the rows of n's table a's viewer may not read.
func (f *fixture) hiddenOf(n *scope.Node) []string {
	return f.ids(fmt.Sprintf(`SELECT id FROM %q WHERE NOT (id = ANY($1))`, n.Table), f.visibleTo[n.Type])
}

// ids runs query (raw SQL) and returns the ids it selects.
func (f *fixture) ids(query string, args ...any) []string {
	var ids []string
	rows, err := f.env.DB.Query(query, args...)
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

// exposed fails t when a probe's error carries what a's viewer may not
// read: a hidden row's id, or a canary raised on one. A refusal
// (ErrUnsafeSQL) quotes only the caller's own text.
func (f *fixture) exposed(t *testing.T, name string, err error) {
	t.Helper()
	if errors.Is(err, privacy.ErrUnsafeSQL) {
		return
	}
	msg := err.Error()
	if strings.Contains(msg, "leak-canary") {
		t.Errorf("%s: a condition saw another tenant's rows: %v", name, err)
	}
	for _, id := range f.hidden {
		if strings.Contains(msg, id) {
			t.Errorf("%s: the error carries %s, a row the viewer may not read: %v", name, id, err)
			return
		}
	}
}

// lockedByProbe reports an error when another session cannot lock the
// rows of table that belong to b (or the platform) at once: the probe's
// transaction holds a lock on them.
func (f *fixture) lockedByProbe(n *scope.Node) error {
	owner := f.b
	if n.Kind == scope.KindShared {
		owner = scope.PlatformTenantID
	}
	f.lockMu.Lock()
	defer f.lockMu.Unlock()
	_, err := f.lockConn.ExecContext(context.Background(), fmt.Sprintf(`SELECT 1 FROM %q WHERE tenant_id = $1 FOR UPDATE NOWAIT`, n.Table), owner)
	return err
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
	return f.ids(fmt.Sprintf(`SELECT id FROM %q WHERE tenant_id = $1 AND deleted_at IS NULL`, n.Table), owner)
}

// othersDigest digests every row of table but the viewer's live rows ($1):
// other tenants', the platform's, the viewer's deleted ones.
const othersDigest = `SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t.id)), '') FROM %q t
	WHERE NOT (id = ANY($1))`

// run runs probe in a transaction that is rolled back, and reports what
// the probe saw or changed beyond a's live rows, a change to any row a may
// not change, an error that carries what a may not read, or (given
// lockType, for a locking form) a lock it holds on b's rows of that
// entity's table. Any other error from the probe is a refusal: fine.
func (f *fixture) run(t *testing.T, name, typ string, probe func(ctx context.Context, c *ent.Client) ([]string, int, error), lockType ...string) {
	t.Helper()
	n, _ := scope.Lookup(typ)
	ctx := privacy.WithTenant(context.WithValue(context.Background(), targetKey{}, f.rows[typ][f.b][0]), f.a)
	visible := f.visibleTo[typ]
	before := f.others[typ]
	tx, err := f.env.Client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	seen, count, perr := probe(ctx, tx.Client())
	if len(lockType) > 0 {
		l, _ := scope.Lookup(lockType[0])
		if err := f.lockedByProbe(l); err != nil {
			t.Errorf("%s: rows of another tenant are locked: %v", name, err)
		}
	}
	if perr != nil {
		f.exposed(t, name, perr)
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

// hostileWorkers run the matrix's entities and edges side by side: the
// probes wait on round trips (on Citus, several per statement), and each
// runs in a transaction of its own that is rolled back.
const hostileWorkers = 4

// Every entity x every builder x every hostile function: as tenant a,
// nothing of b (or of a's deleted rows) is seen, counted, changed, locked
// or quoted in an error.
func TestHostileSelectors(t *testing.T) {
	f := newFixture(t)
	if len(nodeProbes) != len(scope.Nodes()) {
		t.Fatalf("node probes are stale (%d probes, %d entities): run go generate ./privacy", len(nodeProbes), len(scope.Nodes()))
	}
	type job struct {
		name string
		run  func(t *testing.T)
	}
	var jobs []job
	for _, np := range nodeProbes {
		jobs = append(jobs, job{np.Type, func(t *testing.T) { f.hostileNode(t, np) }})
	}
	for _, p := range edgeProbes {
		jobs = append(jobs, job{p.From + "." + p.Edge, func(t *testing.T) { f.hostileEdge(t, p) }})
	}
	next := make(chan job)
	var wg sync.WaitGroup
	for range hostileWorkers {
		wg.Go(func() {
			for j := range next {
				t.Run(j.name, j.run)
			}
		})
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
}

// hostileNode runs every builder of one entity with every hostile
// function, order term and aggregate.
func (f *fixture) hostileNode(t *testing.T, np nodeProbe) {
	n, _ := scope.Lookup(np.Type)
	visible := len(f.visibleTo[np.Type])
	for _, h := range hostiles(n.Table, f.b, f.rows[np.Type][f.b], visible) {
		for name, read := range np.Reads {
			f.run(t, np.Type+"."+name+"/"+h.name, np.Type, func(ctx context.Context, c *ent.Client) ([]string, int, error) {
				ids, err := read(ctx, c, h.fn)
				return ids, len(ids), err
			}, h.lockOn(np.Type)...)
		}
		for name, count := range np.Counts {
			f.run(t, np.Type+"."+name+"/"+h.name, np.Type, func(ctx context.Context, c *ent.Client) ([]string, int, error) {
				n, err := count(ctx, c, h.fn)
				return nil, n, err
			}, h.lockOn(np.Type)...)
		}
	}
	// Raw order terms go to the one builder that takes an order function
	// (as predicates they change nothing, the predicate forms above are
	// refused there).
	for _, h := range orderHostiles(n.Table, f.b, f.rows[np.Type][f.b], visible) {
		f.run(t, np.Type+".Order/"+h.name, np.Type, readOnly(np.Reads["Order"], h.fn), h.lockOn(np.Type)...)
	}
	for name, agg := range hostileAggregates(n.Table, visible) {
		for kind, probe := range map[string]aggProbe{"Aggregate": np.Aggregate, "GroupBy.Aggregate": np.GroupAggregate} {
			f.run(t, np.Type+"."+kind+"/"+name, np.Type, func(ctx context.Context, c *ent.Client) ([]string, int, error) {
				return probe(ctx, c, agg)
			}, hostile{name: name}.lockOn(np.Type)...)
		}
	}
}

// hostileEdge: traversals, eager loading and edge predicates seal the
// neighbour's predicates like any query; the selector attacks run on
// each, raw SQL at any depth on the edge predicate (HasXWith), whose
// subquery is caller SQL of the predicate that holds it.
func (f *fixture) hostileEdge(t *testing.T, p edgeProbe) {
	from, _ := scope.Lookup(p.From)
	to, _ := scope.Lookup(p.To)
	for _, h := range baseHostiles(to.Table, f.b, f.rows[p.To][f.b]) {
		for name, probe := range map[string]readProbe{"Query": p.Hostile.Query, "With": p.Hostile.With} {
			f.run(t, p.From+"."+p.Edge+"."+name+"/"+h.name, p.To, readOnly(probe, h.fn))
		}
	}
	for _, h := range hostiles(to.Table, f.b, f.rows[p.To][f.b], len(f.visibleTo[p.To])) {
		f.run(t, p.From+"."+p.Edge+".Has/"+h.name, p.From, readOnly(p.Hostile.Has, h.fn), h.lockOn(p.To)...)
	}
	for _, h := range baseHostiles(from.Table, f.b, f.rows[p.From][f.b]) {
		f.run(t, p.From+"."+p.Edge+".From/"+h.name, p.To, readOnly(p.Hostile.From, h.fn))
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
