package scope

import (
	"errors"
	"testing"
)

func TestVet(t *testing.T) {
	cases := []struct {
		text string
		args int
		kind fragmentKind
		ok   bool
	}{
		{`"activities"."id" = $1`, 1, fragPredicate, true},
		{`"t"."name" IN ($1, $2)`, 2, fragPredicate, true},
		{`LOWER("t"."email") = LOWER($1)`, 1, fragPredicate, true},
		{`"t"."id" IN (SELECT "c"."activity_id" FROM "c" WHERE "c"."tenant_id" = $1)`, 1, fragPredicate, true},
		{`'it''s' = "x"`, 0, fragPredicate, true},
		{`"weird "" ident" IS NULL`, 0, fragPredicate, true},
		{`"t"."settings"->>'a' = $1`, 1, fragPredicate, true},
		{`"t"."n"::varchar(10) = $1`, 1, fragPredicate, true},
		{`TRUE) OR (TRUE`, 0, fragPredicate, false},
		{`(TRUE`, 0, fragPredicate, false},
		{`TRUE --`, 0, fragPredicate, false},
		{`TRUE /* x */`, 0, fragPredicate, false},
		{`TRUE; DELETE FROM x`, 0, fragPredicate, false},
		{`$x$ ) $x$`, 0, fragPredicate, false},
		{`$2 = 1`, 1, fragPredicate, false},
		{`E'\'' = ''`, 0, fragPredicate, false},
		{`'a\' = ''`, 0, fragPredicate, false},
		{`'unterminated`, 0, fragPredicate, false},
		{`"unterminated`, 0, fragPredicate, false},
		{`set_config('a', 'b', false) IS NULL`, 0, fragPredicate, false},
		{`pg_catalog.lower('a') = 'a'`, 0, fragPredicate, false},
		{`"pg_sleep"(1) IS NULL`, 0, fragPredicate, false},
		{"a\x00b", 0, fragPredicate, false},
		{`COUNT(*)`, 0, fragExpr, true},
		{`SUM("t"."amount") AS "total"`, 0, fragExpr, true},
		{`"t"."created_at" DESC NULLS LAST`, 0, fragExpr, true},
		{`COUNT(*) FROM "t" --`, 0, fragExpr, false},
		{`COUNT(*) FROM "t" UNION SELECT 1`, 0, fragExpr, false},
		{`(SELECT COUNT(*) FROM "t")`, 0, fragExpr, false},
		{`"t"."id" LIMIT 1`, 0, fragExpr, false},
		{`"t"."id" = $1`, 1, fragExpr, false},
	}
	for _, c := range cases {
		args := make([]any, c.args)
		_, err := vet(c.text, args, c.kind)
		if (err == nil) != c.ok {
			t.Errorf("vet(%q): %v, want ok=%v", c.text, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrUnsafeSQL) {
			t.Errorf("vet(%q): %v is not ErrUnsafeSQL", c.text, err)
		}
	}
}

// A frozen fragment renders its placeholders after the statement's own and
// carries its arguments, whatever their order in the text.
func TestFrozenRenumbers(t *testing.T) {
	f, err := vet(`a = $2 OR b = $1`, []any{"one", "two"}, fragPredicate)
	if err != nil {
		t.Fatal(err)
	}
	p := f.predicate()
	p.SetDialect("postgres")
	p.SetTotal(3)
	text, args := p.Query()
	if text != "(a = $4 OR b = $5)" || len(args) != 2 || args[0] != "two" || args[1] != "one" {
		t.Fatalf("got %q %v", text, args)
	}
}
