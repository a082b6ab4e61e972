package privacy_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/internal/runtime/scope"
)

// rawFragments are SQL texts that try to leave a clause or read, lock or
// quote rows beyond the viewer's (%q is the table); the fuzzer splices
// them, and bytes of its own, into predicates and order terms. A
// "leak-canary" error means a condition saw two tenants' rows.
var rawFragments = []string{
	"TRUE) OR (TRUE", ") UNION SELECT * FROM %q --", "TRUE --", "TRUE /* ", "*/ TRUE", "TRUE; SELECT 1",
	"$1 = $1", "$x$ ) $x$", `E'\'' = ''`, "set_config('a.b', 'c', false) IS NOT NULL", "tenant_id <> ''",
	"(SELECT count(*) FROM %q) > 0", "id IS NOT NULL", "'a' = 'a'", `"tenant_id" IS NOT NULL`, "pg_sleep(0) IS NULL",
	// issue 18: sub-selects in every syntax, locks, attribute notation,
	// whole rows, casts, regclass, and errors raised on rows
	"EXISTS (TABLE %q OFFSET 1)", "EXISTS (SELECT 1 FROM %q x, %q y WHERE x.tenant_id <> y.tenant_id)",
	"CASE WHEN (SELECT count(DISTINCT tenant_id) FROM %q) > 1 THEN CAST('leak-canary-' || id AS integer) = 1 ELSE TRUE END",
	"CASE WHEN EXISTS (SELECT 1 FROM %q WHERE deleted_at IS NOT NULL) THEN CAST('leak-canary-' || id AS integer) = 1 ELSE TRUE END",
	"EXISTS (SELECT 1 FROM %q OFFSET 100 FOR UPDATE)", "EXISTS (TABLE %q OFFSET 100 FOR KEY SHARE)",
	"CAST((SELECT min(id) FROM %q) || '' AS integer) = 1", "CAST(id || '' AS integer) = 1", "date_trunc(id, created_at) IS NULL",
	"(SELECT x.row_to_json FROM %q x LIMIT 1) IS NULL", "%q IS NULL", "(SELECT x FROM %q x LIMIT 1) IS NULL",
	"'%q'::regclass IS NULL", "EXISTS (WITH x AS (TABLE %q) TABLE x)", "EXISTS (VALUES (1))",
	"EXISTS (SELECT 1 FROM %q x, LATERAL (SELECT x.id) y)", "EXISTS (SELECT 1 FROM generate_series(1, 2))",
	"'x' ~ id", "current_setting('is_superuser') = 'on'", "EXISTS (SELECT 1 FROM pg_class)",
}

// fragment returns rawFragments[i] for table.
func fragment(i int, table string) string {
	frag := rawFragments[i%len(rawFragments)]
	return strings.ReplaceAll(frag, "%q", strconv.Quote(table))
}

// fuzzSelector turns bytes into a sequence of selector calls: the fuzzer's
// stand-in for tenant code that controls a predicate or order function.
func fuzzSelector(data []byte, table, other string, otherIDs []string) func(*entsql.Selector) {
	ids := make([]any, len(otherIDs))
	for i, id := range otherIDs {
		ids[i] = id
	}
	return func(s *entsql.Selector) {
		next := func(i *int) byte {
			*i++
			if *i < len(data) {
				return data[*i]
			}
			return 0
		}
		raw := func(i *int) string {
			n := int(next(i) % 24)
			start := *i + 1
			end := min(start+n, len(data))
			*i = end - 1
			if start >= end {
				return ""
			}
			return string(data[start:end])
		}
		for i := 0; i < len(data); i++ {
			switch data[i] % 24 {
			case 0:
				s.Not()
			case 1:
				s.Or()
			case 2:
				s.Where(entsql.EQ(s.C("tenant_id"), other))
			case 3:
				s.Where(entsql.In(s.C("id"), ids...))
			case 4:
				s.SetP(nil)
			case 5:
				s.SetP(entsql.EQ(s.C("tenant_id"), other))
			case 6:
				s.CollectPredicates()
			case 7:
				s.From(entsql.Table(table))
			case 8:
				j := entsql.Table(table).As("j")
				s.Join(j).On(s.C("id"), j.C("id"))
				s.Where(entsql.EQ(j.C("tenant_id"), other))
			case 9:
				s.Union(entsql.Select("*").From(entsql.Table(table)))
			case 10:
				s.Where(entsql.ExprP(raw(&i)))
			case 11:
				s.Where(entsql.NotNull(s.C("id")))
			case 12:
				if p := s.P(); p != nil {
					s.SetP(entsql.Not(p))
				}
			case 13:
				s.Limit(int(next(&i)))
			case 14:
				s.Select("*")
			case 15:
				s.SelectExpr(entsql.Expr(raw(&i)))
			case 16:
				s.Prefix(entsql.Expr(raw(&i)))
			case 17:
				s.Where(entsql.Or(entsql.EQ(s.C("tenant_id"), other), entsql.NotNull(s.C("id"))))
			case 18:
				if t := s.Table(); t != nil {
					t.As(raw(&i))
				}
			case 19:
				s.Where(entsql.ExprP(fragment(int(next(&i)), table)))
			case 20:
				s.OrderBy(raw(&i))
			case 21:
				s.Where(entsql.Not(entsql.EQ(s.C("tenant_id"), other)))
			case 22:
				s.OrderBy(fragment(int(next(&i)), table))
			case 23: // a fragment inside a sub-select of the table
				s.Where(entsql.ExprP(fmt.Sprintf("EXISTS (SELECT 1 FROM %s WHERE %s)", strconv.Quote(table), fragment(int(next(&i)), table))))
			}
		}
	}
}

// FuzzScopeSelector: bytes pick an entity, a builder and a sequence of
// selector calls (and raw text) for the caller's function; whatever they
// are, tenant a sees and changes only its own live rows. CI runs it for a
// bounded time; testdata/fuzz/FuzzScopeSelector is the committed corpus.
func FuzzScopeSelector(f *testing.F) {
	for _, seed := range [][]byte{
		{0, 0, 0},            // Not
		{0, 0, 11, 1},        // Or left pending
		{0, 0, 6},            // CollectPredicates
		{0, 0, 4},            // SetP(nil)
		{0, 0, 19, 0},        // ExprP("TRUE) OR (TRUE")
		{3, 7, 0, 0, 2, 1},   // nested Not, Or across groups
		{5, 2, 8, 9, 16, 14}, // joined table, union, prefix, select
		{1, 0, 19, 16},       // EXISTS (TABLE t OFFSET 1)
		{1, 0, 19, 18},       // canary: two tenants' rows seen
		{1, 0, 19, 20},       // sub-select FOR UPDATE
		{1, 0, 19, 22},       // cast of a sub-select's value
		{1, 0, 19, 24},       // erroring call on the statement's rows
		{1, 0, 19, 25},       // attribute notation
		{1, 10, 22, 18},      // the canary as an order term (the Order builder)
		{2, 0, 23, 22},       // a cast inside a sub-select
	} {
		f.Add(seed)
	}
	fx := newFixture(f)
	type builder struct {
		name string
		run  func(ctx context.Context, c *ent.Client, p func(*entsql.Selector)) ([]string, int, error)
	}
	var builders []builder
	for _, np := range nodeProbes {
		for name, read := range np.Reads {
			builders = append(builders, builder{np.Type + "." + name, func(ctx context.Context, c *ent.Client, p func(*entsql.Selector)) ([]string, int, error) {
				ids, err := read(ctx, c, p)
				return ids, len(ids), err
			}})
		}
		for name, count := range np.Counts {
			builders = append(builders, builder{np.Type + "." + name, func(ctx context.Context, c *ent.Client, p func(*entsql.Selector)) ([]string, int, error) {
				n, err := count(ctx, c, p)
				return nil, n, err
			}})
		}
	}
	// A fixed order, so a corpus entry picks the same builder every run.
	slices.SortFunc(builders, func(x, y builder) int { return strings.Compare(x.name, y.name) })
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		np := nodeProbes[int(data[0])%len(nodeProbes)]
		var mine []builder
		for _, b := range builders {
			if len(b.name) > len(np.Type) && b.name[:len(np.Type)+1] == np.Type+"." {
				mine = append(mine, b)
			}
		}
		b := mine[int(data[1])%len(mine)]
		n, _ := scope.Lookup(np.Type)
		p := fuzzSelector(data[2:], n.Table, fx.b, fx.rows[np.Type][fx.b])
		fx.run(t, b.name, np.Type, func(ctx context.Context, c *ent.Client) ([]string, int, error) {
			return b.run(ctx, c, p)
		}, np.Type)
	})
}
