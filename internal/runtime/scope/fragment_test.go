package scope

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"
)

// Test entities: an owned, soft-deletable table and a shared one.
var (
	testThings = &Node{Type: "TestThing", Table: "things", Kind: KindOwned, SoftDelete: true,
		Columns: ColumnClasses([]*schema.Column{
			{Name: "id", Type: field.TypeString}, {Name: "tenant_id", Type: field.TypeString},
			{Name: "deleted_at", Type: field.TypeTime}, {Name: "created_at", Type: field.TypeTime},
			{Name: "name", Type: field.TypeString}, {Name: "owner_id", Type: field.TypeString},
			{Name: "amount", Type: field.TypeInt64}, {Name: "ratio", Type: field.TypeFloat64},
			{Name: "data", Type: field.TypeJSON}, {Name: "done", Type: field.TypeBool},
		})}
	testKinds = &Node{Type: "TestKind", Table: "kinds", Kind: KindShared,
		Columns: ColumnClasses([]*schema.Column{
			{Name: "id", Type: field.TypeString}, {Name: "tenant_id", Type: field.TypeString}, {Name: "code", Type: field.TypeString},
		})}
	testFree = &Node{Type: "TestFree", Table: "free", Columns: ColumnClasses([]*schema.Column{{Name: "id", Type: field.TypeString}})}
)

func init() { Register(testThings, testKinds, testFree) }

func tenantClause(kind fragmentKind) clause {
	return clause{kind: kind, node: testThings, class: classTenant, tenant: "T"}
}

// render builds f as the statement would, after two placeholders of its own.
func render(f *frozen) (string, []any) {
	var b sql.Builder
	b.SetDialect("postgres")
	b.SetTotal(2)
	f.build(&b)
	return b.Query()
}

func TestVet(t *testing.T) {
	cases := []struct {
		text string
		args int
		kind fragmentKind
		ok   bool
	}{
		// What Ent renders.
		{`"things"."id" = $1`, 1, fragPredicate, true},
		{`"things"."name" IN ($1, $2)`, 2, fragPredicate, true},
		{`"things"."name" ILIKE $1`, 1, fragPredicate, true},
		{`"things"."id" IN (SELECT "kinds"."id" FROM "kinds" WHERE "kinds"."code" = $1)`, 1, fragPredicate, true},
		{`EXISTS (SELECT "things_edge"."owner_id" FROM "things" AS "things_edge" WHERE "things"."id" = "things_edge"."owner_id")`, 0, fragPredicate, true},
		{`'it''s' = "things"."name"`, 0, fragPredicate, true},
		{`"things"."data"->>'a' = $1`, 1, fragPredicate, true},
		{`"things"."name"::varchar(10) = $1`, 1, fragPredicate, true},
		{`("things"."created_at", "things"."id") > ($1, $2)`, 2, fragPredicate, true},
		{`"things"."amount" BETWEEN 1 AND 2 AND "things"."done" IS TRUE`, 0, fragPredicate, true},
		{`EXTRACT(year FROM "things"."created_at") = 2026 AND TRIM("things"."name") <> ''`, 0, fragPredicate, true},
		{`COUNT(*)`, 0, fragExpr, true},
		{`SUM("things"."amount") AS "total"`, 0, fragExpr, true},
		{`bool_or(EXISTS (TABLE things OFFSET 3)) AS more`, 0, fragExpr, true},
		{`"things"."created_at" DESC NULLS LAST, "things"."id"`, 0, fragOrder, true},
		// The rest of the documented grammar.
		{`EXISTS (SELECT 1 FROM things t WHERE t.amount > 1 GROUP BY t.owner_id HAVING count(*) > 1)`, 0, fragPredicate, true},
		{`EXISTS (SELECT DISTINCT t.owner_id FROM things t ORDER BY t.owner_id FETCH FIRST 1 ROWS ONLY)`, 0, fragPredicate, true},
		{`"things"."name" LIKE 'a!%' ESCAPE '!' AND "things"."name" NOT ILIKE $1`, 1, fragPredicate, true},
		{`POSITION('a' IN "things"."name") > 0 AND SUBSTRING("things"."name" FROM 1 FOR 2) = 'ab'`, 0, fragPredicate, true},
		{`"things"."created_at" AT TIME ZONE 'UTC' > now() AND "things"."created_at" < CURRENT_TIMESTAMP`, 0, fragPredicate, true},
		{`GREATEST("things"."amount", 1) > 2 AND COALESCE("things"."name", '') <> '' AND NULLIF("things"."amount", 0) IS NULL`, 0, fragPredicate, true},
		{`ROW("things"."id", "things"."name") IS NOT NULL AND "things"."id" = ANY($1) AND "things"."amount" NOT BETWEEN SYMMETRIC 1 AND 2`, 1, fragPredicate, true},
		{`("things"."data"->'a')::text = '1' AND "things"."data" @> '{}' AND ARRAY[1, 2] @> ARRAY["things"."amount"]::int8[]`, 0, fragPredicate, true},
		{`count(DISTINCT "things"."owner_id") FILTER (WHERE "things"."done")`, 0, fragExpr, true},
		{`string_agg("things"."name", ',' ORDER BY "things"."name")`, 0, fragExpr, true},
		{`EXISTS (SELECT 1 FROM things TABLESAMPLE SYSTEM (10))`, 0, fragPredicate, false},
		{`percentile_cont(0.5) WITHIN GROUP (ORDER BY "things"."amount")`, 0, fragExpr, false},
		{`concat(VARIADIC ARRAY['a'])`, 0, fragExpr, false},
		{`EXISTS (TABLE things OFFSET 3)`, 0, fragOrder, true},
		// Leaving the clause.
		{`TRUE) OR (TRUE`, 0, fragPredicate, false},
		{`(TRUE`, 0, fragPredicate, false},
		{`TRUE; DELETE FROM things`, 0, fragPredicate, false},
		{`TRUE UNION SELECT 1`, 0, fragPredicate, false},
		{`TRUE ORDER BY 1`, 0, fragPredicate, false},
		{`TRUE LIMIT 1`, 0, fragPredicate, false},
		{`TRUE FOR UPDATE`, 0, fragPredicate, false},
		{`TRUE GROUP BY 1`, 0, fragPredicate, false},
		{`COUNT(*) FROM "things" --`, 0, fragExpr, false},
		{`COUNT(*) FROM "things" UNION SELECT 1`, 0, fragExpr, false},
		{`COUNT(*), COUNT(*)`, 0, fragExpr, false},
		{`"things"."id" LIMIT 1`, 0, fragOrder, false},
		{`"things"."id" FOR UPDATE`, 0, fragOrder, false},
		{"a\x00b", 0, fragPredicate, false},
		// Placeholders.
		{`$2 = 1`, 1, fragPredicate, false},
		{`$0 = 1`, 1, fragPredicate, false},
		// Relations the layer does not scope.
		{`EXISTS (SELECT 1 FROM pg_class)`, 0, fragPredicate, false},
		{`EXISTS (SELECT 1 FROM public.things)`, 0, fragPredicate, false},
		{`EXISTS (SELECT 1 FROM ONLY things)`, 0, fragPredicate, false},
		{`EXISTS (SELECT 1 FROM (TABLE things) x)`, 0, fragPredicate, false},
		{`EXISTS (SELECT 1 FROM things JOIN kinds ON true)`, 0, fragPredicate, false},
		{`EXISTS (SELECT 1 FROM things, LATERAL (SELECT 1) x)`, 0, fragPredicate, false},
		{`EXISTS (SELECT 1 FROM generate_series(1, 2))`, 0, fragPredicate, false},
		{`EXISTS (SELECT 1 FROM things t(a, b))`, 0, fragPredicate, false},
		{`EXISTS (WITH x AS (TABLE things) TABLE x)`, 0, fragPredicate, false},
		{`EXISTS (VALUES (1))`, 0, fragPredicate, false},
		{`EXISTS (SELECT 1)`, 0, fragPredicate, false},
		{`EXISTS (TABLE things UNION TABLE things)`, 0, fragPredicate, false},
		{`'things'::regclass IS NOT NULL`, 0, fragPredicate, false},
		{`CAST('things' AS regclass) IS NOT NULL`, 0, fragPredicate, false},
		{`'(1)'::things IS NOT NULL`, 0, fragPredicate, false},
		// Locks.
		{`EXISTS (SELECT 1 FROM things FOR UPDATE)`, 0, fragPredicate, false},
		{`EXISTS (TABLE things FOR KEY SHARE)`, 0, fragPredicate, false},
		{`EXISTS (TABLE things FOR NO KEY UPDATE NOWAIT)`, 0, fragOrder, false},
		{`bool_or(EXISTS (TABLE things FOR SHARE))`, 0, fragExpr, false},
		// Functions in any call syntax; whole rows.
		{`set_config('a', 'b', false) IS NULL`, 0, fragPredicate, false},
		{`pg_catalog.lower('a') = 'a'`, 0, fragPredicate, false},
		{`"pg_sleep"(1) IS NULL`, 0, fragPredicate, false},
		{`"LOWER"('a') = 'a'`, 0, fragPredicate, false},
		{`things.row_to_json IS NULL`, 0, fragPredicate, false},
		{`(SELECT t.row_to_json FROM things t) IS NULL`, 0, fragPredicate, false},
		{`(SELECT (t).row_to_json FROM things t) IS NULL`, 0, fragPredicate, false},
		{`(SELECT row_to_json(t) FROM things t) IS NULL`, 0, fragPredicate, false},
		{`(SELECT to_jsonb(t.*) FROM things t) IS NULL`, 0, fragPredicate, false},
		{`(SELECT to_jsonb(t) FROM things t) IS NULL`, 0, fragPredicate, false},
		{`things IS NULL`, 0, fragPredicate, false},
		{`things.ctid IS NULL`, 0, fragPredicate, false},
		{`"things"."nope" = 1`, 0, fragPredicate, false},
		{`other.id = 1`, 0, fragPredicate, false},
		{`a.b.c = 1`, 0, fragPredicate, false},
		{`current_setting('search_path') = ''`, 0, fragPredicate, false},
		{`current_user = 'x'`, 0, fragPredicate, false},
		{`session_user = 'x'`, 0, fragPredicate, false},
		{`system_user = 'x'`, 0, fragPredicate, false},
		{`current_schema = 'x'`, 0, fragPredicate, false},
		{`query_to_xml('TABLE things', true, true, '') IS NULL`, 0, fragPredicate, false},
		{`dblink('x', 'y') IS NULL`, 0, fragPredicate, false},
		{`lo_import('/etc/passwd') IS NULL`, 0, fragPredicate, false},
		{`pg_advisory_lock(1) IS NULL`, 0, fragPredicate, false},
		{`nextval('s') > 0`, 0, fragPredicate, false},
		{`count(*) OVER () > 0`, 0, fragPredicate, false},
		{`"things"."name" SIMILAR TO 'a'`, 0, fragPredicate, false},
		{`"things"."name" OPERATOR(pg_catalog.=) 'a'`, 0, fragPredicate, false},
		{`"things"."name" COLLATE "C" = 'a'`, 0, fragPredicate, false},
		{`xmlelement(name a) IS NULL`, 0, fragPredicate, false},
		{`"things"."data" IS JSON`, 0, fragPredicate, false},
		{`"things"."id" = ANY (SELECT "kinds"."id" FROM "kinds" FOR UPDATE)`, 0, fragPredicate, false},
	}
	for _, c := range cases {
		for _, cl := range []viewerClass{classSystem, classTenant, classTenantDeleted} {
			args := make([]any, c.args)
			for i := range args {
				args[i] = "x"
			}
			_, err := vet(c.text, args, clause{kind: c.kind, node: testThings, class: cl, tenant: "T"})
			if (err == nil) != c.ok {
				t.Errorf("vet(%q) class %d: %v, want ok=%v", c.text, cl, err, c.ok)
			}
			if err != nil && !errors.Is(err, ErrUnsafeSQL) {
				t.Errorf("vet(%q): %v is not ErrUnsafeSQL", c.text, err)
			}
		}
	}
}

// An entity without tenancy is readable by the system viewer only.
func TestVetUnprotected(t *testing.T) {
	text := `EXISTS (SELECT 1 FROM free)`
	if _, err := vet(text, nil, tenantClause(fragPredicate)); !errors.Is(err, ErrUnsafeSQL) {
		t.Errorf("tenant viewer: %v, want ErrUnsafeSQL", err)
	}
	if _, err := vet(text, nil, clause{kind: fragPredicate, node: testThings, class: classSystem}); err != nil {
		t.Errorf("system viewer: %v", err)
	}
}

// The rewrite: relations become the viewer's rows, fenced when the level
// has an expression that could fail; predicates that could fail go behind
// the statement's scope; safe ones stay as written (their plans do not
// change).
func TestVetRewrites(t *testing.T) {
	cases := []struct {
		text  string
		kind  fragmentKind
		class viewerClass
		want  string
	}{
		{`"things"."id" = $1`, fragPredicate, classTenant, `("things"."id" = $3)`}, // plain: as written
		{`"things"."id" = $1 AND date_trunc("things"."name", "things"."created_at") IS NULL`, fragPredicate, classTenant,
			`(things.id = $3 AND CASE WHEN things.tenant_id = $4 AND things.deleted_at IS NULL THEN date_trunc(things.name, things.created_at) IS NULL ELSE false END)`},
		{`date_trunc(name, created_at) IS NULL`, fragPredicate, classTenantDeleted,
			`(CASE WHEN things.tenant_id = $3 THEN date_trunc(name, created_at) IS NULL ELSE false END)`},
		{`date_trunc(name, created_at) IS NULL`, fragPredicate, classSystem, `(date_trunc(name, created_at) IS NULL)`},
		{`"things"."owner_id" IN (SELECT t.id FROM things t WHERE t.name = $1)`, fragPredicate, classTenant,
			`(things.owner_id IN (SELECT t.id FROM (SELECT * FROM things WHERE things.tenant_id = $3 AND things.deleted_at IS NULL) t WHERE t.name = $4))`},
		{`EXISTS (SELECT 1 FROM kinds WHERE CAST(kinds.code AS int) = 1)`, fragPredicate, classTenant,
			`(CASE WHEN things.tenant_id = $3 AND things.deleted_at IS NULL THEN EXISTS (SELECT 1 FROM (SELECT * FROM kinds WHERE kinds.tenant_id = 'platform' OFFSET 0) kinds WHERE kinds.code::int = 1) ELSE false END)`},
		{`CAST((SELECT name FROM things WHERE name LIKE 'B-%' LIMIT 1) AS integer) = 1`, fragPredicate, classTenant,
			`(CASE WHEN things.tenant_id = $3 AND things.deleted_at IS NULL THEN (SELECT name FROM (SELECT * FROM things WHERE things.tenant_id = $4 AND things.deleted_at IS NULL) things WHERE name LIKE 'B-%' LIMIT 1)::int = 1 ELSE false END)`},
		{`EXISTS (TABLE things OFFSET 3)`, fragOrder, classTenant,
			`EXISTS (SELECT * FROM (SELECT * FROM things WHERE things.tenant_id = $3 AND things.deleted_at IS NULL) things OFFSET 3)`},
		{`EXISTS (TABLE things OFFSET 3)`, fragOrder, classSystem, `EXISTS (SELECT * FROM things OFFSET 3)`},
		// now() compares safely with a time column only.
		{`"things"."created_at" < now()`, fragPredicate, classTenant, `(things.created_at < now())`},
		{`"things"."name" < now()::text`, fragPredicate, classTenant,
			`(CASE WHEN things.tenant_id = $3 AND things.deleted_at IS NULL THEN things.name < now()::text ELSE false END)`},
	}
	for _, c := range cases {
		f, err := vet(c.text, []any{"arg"}, clause{kind: c.kind, node: testThings, class: c.class, tenant: "T"})
		if err != nil {
			t.Errorf("vet(%q): %v", c.text, err)
			continue
		}
		var got string
		var args []any
		if c.kind == fragPredicate {
			p := f.predicate()
			p.SetDialect("postgres")
			p.SetTotal(2)
			got, args = p.Query()
		} else {
			got, args = render(f)
		}
		if got != c.want {
			t.Errorf("vet(%q) class %d:\n got %s\nwant %s", c.text, c.class, got, c.want)
		}
		for i, a := range args {
			if a != "arg" && a != "T" {
				t.Errorf("vet(%q): argument %d is %v", c.text, i, a)
			}
		}
	}
}

// A frozen fragment renders its placeholders after the statement's own and
// carries its arguments, whatever their order in the text.
func TestFrozenRenumbers(t *testing.T) {
	f, err := vet(`"things"."name" = $2 OR "things"."id" = $1`, []any{"one", "two"}, tenantClause(fragPredicate))
	if err != nil {
		t.Fatal(err)
	}
	p := f.predicate()
	p.SetDialect("postgres")
	p.SetTotal(3)
	text, args := p.Query()
	if text != `("things"."name" = $4 OR "things"."id" = $5)` || len(args) != 2 || args[0] != "two" || args[1] != "one" {
		t.Fatalf("got %q %v", text, args)
	}
}

// What depends on the arguments is checked on every call, not cached.
func TestVetChecksArguments(t *testing.T) {
	c := tenantClause(fragPredicate)
	for _, args := range [][]any{{`a\`}, {`a\\\`}, {7}} {
		if _, err := vet(`"things"."name" LIKE $1`, args, c); !errors.Is(err, ErrUnsafeSQL) {
			t.Errorf("LIKE pattern %v: %v, want ErrUnsafeSQL", args, err)
		}
	}
	if _, err := vet(`"things"."name" LIKE $1`, []any{`a\\`}, c); err != nil {
		t.Errorf("escaped backslash: %v", err)
	}
	if _, err := vet(`"things"."name" = $2`, []any{"a"}, c); !errors.Is(err, ErrUnsafeSQL) {
		t.Errorf("missing argument: %v", err)
	}
	// A constant pattern ending in an escape is not safe: guarded, not refused.
	f, err := vet(`"things"."name" LIKE 'a\'`, nil, c)
	if err != nil || !strings.Contains(strings.Join(f.t.text, ""), "CASE WHEN") {
		t.Errorf("constant pattern ending in an escape: %v", err)
	}
}

// One parse per shape: a repeated shape is a map lookup (same template),
// and the cache stays bounded however many shapes a caller makes.
func TestVerdictCache(t *testing.T) {
	c := tenantClause(fragPredicate)
	f1, err := vet(`"things"."id" = $1`, []any{"a"}, c)
	if err != nil {
		t.Fatal(err)
	}
	f2, _ := vet(`"things"."id" = $1`, []any{"b"}, c)
	if f1.t != f2.t || f2.args[0] != "b" {
		t.Fatal("a repeated shape was judged again, or kept the first call's arguments")
	}
	f3, _ := vet(`"things"."id" = $1`, []any{"b"}, clause{kind: fragPredicate, node: testThings, class: classSystem})
	if f3.t == f1.t {
		t.Fatal("the system viewer got a tenant's verdict")
	}
	for i := range 3*maxVerdicts + 10 {
		if _, err := vet(fmt.Sprintf(`"things"."amount" = %d`, i), nil, c); err != nil {
			t.Fatal(err)
		}
	}
	if n := verdicts.len(); n > 2*maxVerdicts {
		t.Fatalf("%d verdicts held, bound %d", n, 2*maxVerdicts)
	}
	big := `"things"."name" = '` + strings.Repeat("x", maxCachedText) + `'`
	before := verdicts.len()
	if _, err := vet(big, nil, c); err != nil {
		t.Fatal(err)
	}
	if verdicts.len() > before {
		t.Fatal("a text over maxCachedText was cached")
	}
}

// What the plain grammar accepts, the full grammar accepts as it is: all
// safe (no guard, no relation), the same placeholders; and what Ent's
// typed predicates and orders render is plain.
func TestPlainAgreesWithGrammar(t *testing.T) {
	plainCases := []struct {
		text string
		kind fragmentKind
	}{
		{`"things"."id" = $1`, fragPredicate},
		{`"things"."id" = $1 AND "things"."name" <> $2`, fragPredicate},
		{`"things"."name" IN ($1, $2, $3) AND "things"."owner_id" NOT IN ($4)`, fragPredicate},
		{`NOT ("things"."name" ILIKE $1) OR "things"."name" LIKE $2`, fragPredicate},
		{`("things"."created_at" <= $1 AND ("things"."created_at" < $2 OR "things"."id" < $3))`, fragPredicate},
		{`"things"."deleted_at" IS NULL AND "things"."owner_id" IS NOT NULL`, fragPredicate},
		{`"things"."id" = "things"."owner_id"`, fragPredicate},
		{`"things"."created_at" DESC NULLS LAST, "things"."id"`, fragOrder},
		{`"things"."name" ASC`, fragOrder},
	}
	for _, c := range plainCases {
		p, ok := plain(c.text, c.kind, testThings)
		if !ok {
			t.Errorf("plain(%q): not plain", c.text)
			continue
		}
		g, err := analyze(c.text, c.kind, testThings, classTenant)
		if err != nil {
			t.Errorf("plain(%q) accepted what the grammar refuses: %v", c.text, err)
			continue
		}
		if strings.Contains(g.src, "CASE WHEN") || strings.Contains(g.src, "SELECT") || len(g.refs) != len(p.refs) || g.maxParam != p.maxParam ||
			len(g.patterns) != len(p.patterns) {
			t.Errorf("plain(%q) and the grammar differ: %q %v %v", c.text, g.src, g.refs, p.refs)
		}
	}
	// Not plain: the full grammar decides.
	for _, text := range []string{
		`"things"."id" = 'a'`, `"things"."id" = $1 AND TRUE`, `"other"."id" = $1`, `"things"."nope" = $1`,
		`"things"."name" = "things"."amount"`, `"things"."id" = $1 -- x`, `"things"."id" != $1`,
		`"things"."id" =$1x`, `"things"."id" => $1`, `"thi""ngs"."id" = $1`, `"things"."id" = $1 and "things"."id" = $2`,
		`EXISTS (SELECT 1 FROM things)`, `"things"."id" IN (SELECT "things"."id")`, `"things"."name" LIKE 'a'`,
		`"things"."id" = $99999999`, `lower("things"."name") = $1`, `"things"."id" = $1)`, `("things"."id" = $1`,
	} {
		if _, ok := plain(text, fragPredicate, testThings); ok {
			t.Errorf("plain(%q) accepted", text)
		}
	}
}

// Random token sequences over the plain alphabet: whatever plain accepts,
// the full grammar accepts without a guard or a relation, with the same
// placeholders (the two never read a text two ways).
func TestPlainRandomized(t *testing.T) {
	vocab := []string{`"things"`, `.`, `"id"`, `"name"`, `"amount"`, `"created_at"`, `"nope"`, `"kinds"`, `$1`, `$2`,
		`=`, `<>`, `<`, `<=`, `>`, `>=`, `IN`, `NOT`, `IS`, `NULL`, `LIKE`, `ILIKE`, `AND`, `OR`, `(`, `)`, `,`,
		`'a'`, `DESC`, `ASC`, `NULLS`, `LAST`, `FIRST`, `"things"."id"`, `"things"."name"`, `"things"."amount"`}
	r := rand.New(rand.NewPCG(18, 1))
	accepted := 0
	for range 200000 {
		var b strings.Builder
		for j := range 1 + r.IntN(12) {
			if j > 0 && r.IntN(4) > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(vocab[r.IntN(len(vocab))])
		}
		text := b.String()
		for _, kind := range []fragmentKind{fragPredicate, fragOrder} {
			p, ok := plain(text, kind, testThings)
			if !ok {
				continue
			}
			accepted++
			g, err := analyze(text, kind, testThings, classTenant)
			if err != nil {
				t.Errorf("plain accepted %q (kind %d), the grammar refuses it: %v", text, kind, err)
				continue
			}
			if strings.Contains(g.src, "CASE WHEN") || len(g.refs) != len(p.refs) || g.maxParam != p.maxParam || len(g.patterns) != len(p.patterns) {
				t.Errorf("plain and the grammar differ on %q: %q", text, g.src)
			}
		}
	}
	if accepted < 100 {
		t.Fatalf("only %d random texts were plain: the test checks little", accepted)
	}
	t.Logf("%d plain texts checked against the grammar", accepted)
}

// Deep nesting is refused (the parser's stack), not a crash.
func TestVetDeepNesting(t *testing.T) {
	for _, n := range []int{100, 100000} {
		text := strings.Repeat("(", n) + `"things"."id" = $1` + strings.Repeat(")", n)
		_, err := vet(text, []any{"x"}, tenantClause(fragPredicate))
		if n == 100 && err != nil || n > 100 && !errors.Is(err, ErrUnsafeSQL) {
			t.Errorf("depth %d: %v", n, err)
		}
	}
}
