package scope

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"
)

var benchThing = &Node{Type: "BenchThing", Table: "bench_things", Kind: KindOwned, SoftDelete: true,
	Columns: ColumnClasses([]*schema.Column{
		{Name: "id", Type: field.TypeString}, {Name: "ref_id", Type: field.TypeString}, {Name: "tenant_id", Type: field.TypeString},
		{Name: "name", Type: field.TypeString}, {Name: "created_at", Type: field.TypeTime}, {Name: "deleted_at", Type: field.TypeTime},
	})}

// BenchmarkSealGetByID is the client CPU that sealing adds to a get by id:
// the caller's predicate on a throwaway, rendered, vetted and frozen, then
// the statement built; "unsealed" builds the same statement the way Ent
// does without it. go test -run '^$' -bench Seal -count 6 ./internal/runtime/scope
func BenchmarkSealGetByID(b *testing.B) {
	Register(benchThing)
	ctx := WithTenant(context.Background(), "ctenant0000000000000000000")
	byID := func(s *sql.Selector) { s.Where(sql.EQ(s.C("id"), "cid00000000000000000000000")) }
	build := func() *sql.Selector {
		t := sql.Dialect("postgres").Table("bench_things")
		return sql.Dialect("postgres").Select(t.Columns("id", "ref_id", "tenant_id", "name", "created_at")...).From(t).WithContext(ctx)
	}
	b.Run("unsealed", func(b *testing.B) {
		for b.Loop() {
			s := build()
			byID(s)
			s.Where(sql.EQ(s.C(ColumnTenantID), "ctenant0000000000000000000"))
			s.Where(sql.IsNull(s.C(ColumnDeletedAt)))
			s.Limit(2).Query()
		}
	})
	b.Run("sealed", func(b *testing.B) {
		for b.Loop() {
			sealed, err := SealQuery[func(*sql.Selector), func(*sql.Selector)](ctx, "BenchThing", []func(*sql.Selector){byID}, nil)
			if err != nil {
				b.Fatal(err)
			}
			s := build()
			sealed.Where(s)
			s.Limit(2).Query()
		}
	})
}

// BenchmarkVet is the grammar's cost per fragment: "hit" is a shape seen
// before (what every repeated query pays: a map lookup), "miss" the first
// call of a shape (the plain grammar for a get by id and a 1,000-item IN
// list; pg_query's parse, walk, print, parse again and scan for an edge
// predicate's sub-select and a raw predicate that gets a guard).
// go test -run '^$' -bench Vet -count 6 ./internal/runtime/scope
func BenchmarkVet(b *testing.B) {
	Register(benchThing)
	c := clause{kind: fragPredicate, node: benchThing, class: classTenant, tenant: "ctenant0000000000000000000"}
	for _, x := range []struct{ name, text string }{
		{"byID", `"bench_things"."id" = $1`},
		{"edge", `"bench_things"."id" IN (SELECT "t1"."id" FROM "bench_things" AS "t1" WHERE "t1"."tenant_id" = $1 AND "t1"."deleted_at" IS NULL AND ("t1"."name" = $1) AND "t1"."tenant_id" = "bench_things"."tenant_id")`},
		{"guarded", `"bench_things"."id" = $1 AND date_trunc("bench_things"."name", "bench_things"."created_at") IS NULL`},
		{"in1000", `"bench_things"."id" IN (` + placeholders(1000) + `)`},
	} {
		args := make([]any, 1000)
		for i := range args {
			args[i] = "cid00000000000000000000000"
		}
		b.Run(x.name+"/hit", func(b *testing.B) {
			for b.Loop() {
				if _, err := vet(x.text, args, c); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(x.name+"/miss", func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++ // a new shape each time: a placeholder the cache has not seen
				if _, err := judge(fmt.Sprintf(`%s AND "bench_things"."name" = $%d`, x.text, 1+i%999), c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func placeholders(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", i+1)
	}
	return b.String()
}
