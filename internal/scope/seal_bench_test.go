package scope

import (
	"context"
	"testing"

	"entgo.io/ent/dialect/sql"
)

// BenchmarkSealGetByID is the client CPU that sealing adds to a get by id:
// the caller's predicate on a throwaway, rendered, vetted and frozen, then
// the statement built; "unsealed" builds the same statement the way Ent
// does without it. go test -run '^$' -bench Seal -count 6 ./internal/scope
func BenchmarkSealGetByID(b *testing.B) {
	Register(&Node{Type: "BenchThing", Table: "bench_things", Kind: KindOwned, SoftDelete: true})
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
