package privacy_test

import (
	"context"
	"fmt"
	"testing"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/internal/scope"
)

// rawFragments are SQL texts that try to leave a clause; the fuzzer splices
// them, and bytes of its own, into predicates.
var rawFragments = []string{
	"TRUE) OR (TRUE", ") UNION SELECT * FROM %q --", "TRUE --", "TRUE /* ", "*/ TRUE", "TRUE; SELECT 1",
	"$1 = $1", "$x$ ) $x$", `E'\'' = ''`, "set_config('a.b', 'c', false) IS NOT NULL", "tenant_id <> ''",
	"(SELECT count(*) FROM %q) > 0", "id IS NOT NULL", "'a' = 'a'", `"tenant_id" IS NOT NULL`, "pg_sleep(0) IS NULL",
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
			switch data[i] % 22 {
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
				frag := rawFragments[int(next(&i))%len(rawFragments)]
				if len(frag) > 0 && frag[len(frag)-1] != '%' {
					frag = fmt.Sprintf(frag, table)
				}
				s.Where(entsql.ExprP(frag))
			case 20:
				s.OrderBy(raw(&i))
			case 21:
				s.Where(entsql.Not(entsql.EQ(s.C("tenant_id"), other)))
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
		})
	})
}
