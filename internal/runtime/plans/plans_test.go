package plans

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestClassify(t *testing.T) {
	const cols = `"activities"."id", "activities"."title"`
	for _, c := range []struct {
		want  Class
		query string
	}{
		// Ent's get by id under a tenant viewer, and under the system viewer.
		{Point, `SELECT ` + cols + ` FROM "activities" WHERE "activities"."tenant_id" = $1 AND "activities"."deleted_at" IS NULL AND ("activities"."id" = $2) LIMIT 2`},
		{Point, `SELECT ` + cols + ` FROM "activities" WHERE "activities"."id" = $1 LIMIT 2`},
		{Point, `SELECT ` + cols + ` FROM "activities" WHERE ("activities"."tenant_id" = $1 AND "activities"."ref_id" = $2) AND "activities"."deleted_at" IS NULL`},
		{Point, `UPDATE "activities" SET "title" = $1 WHERE "id" = $2 AND "tenant_id" = $3`},
		{Point, `DELETE FROM "activities" WHERE "activities"."id" = $1`},
		{Point, `INSERT INTO "activities" ("id", "title") VALUES ($1, $2)`},
		{Point, `INSERT INTO "activities" ("id", "title") VALUES ($1, $2) ON CONFLICT ("tenant_id", "ref_id") DO UPDATE SET "title" = "excluded"."title" RETURNING "id"`},
		{Point, `select * from activities where id = $1 and (status = $2 or status = $3)`},
		// Lists, counts and anything a tenant's size can change.
		{Custom, `SELECT ` + cols + ` FROM "activities" WHERE "activities"."tenant_id" = $1 AND "activities"."deleted_at" IS NULL AND "activities"."status" = $2 ORDER BY "activities"."scheduled_at" LIMIT 50`},
		{Custom, `SELECT COUNT(*) FROM "activities" WHERE "activities"."tenant_id" = $1`},
		{Custom, `SELECT ` + cols + ` FROM "activities" WHERE "activities"."id" = $1 OR "activities"."status" = $2`},
		{Custom, `SELECT ` + cols + ` FROM "activities" WHERE ("activities"."id" = $1 AND "x" = $2 OR "y" = $3)`},
		{Custom, `SELECT ` + cols + ` FROM "activities" WHERE NOT ("activities"."id" = $1)`},
		{Custom, `SELECT ` + cols + ` FROM "activities" WHERE "activities"."id" IN ($1, $2, $3)`},
		{Custom, `SELECT ` + cols + ` FROM "activities" WHERE "activities"."tenant_id" = $1 AND "activities"."id" IN (SELECT "activity_id" FROM "deliverables" WHERE "id" = $2)`},
		{Custom, `SELECT ` + cols + ` FROM "activities" WHERE "activities"."tenant_id" = $1`},
		{Custom, `SELECT ` + cols + ` FROM "activities" WHERE "activities"."ref_id" = $1`},
		{Custom, `SELECT ` + cols + ` FROM "activities" WHERE "activities"."id" = 'x'`},
		{Custom, `SELECT ` + cols + ` FROM "activities" WHERE "title" = 'id = $1 AND' AND "status" = $1`},
		{Custom, `UPDATE "activities" SET "status" = $1 WHERE "tenant_id" = $2 AND "status" = $3`},
		{Custom, `INSERT INTO "activities" SELECT * FROM "activities" WHERE "id" = $1`},
		{Custom, `WITH bal AS (SELECT 1) SELECT * FROM bal`},
		{Custom, `SELECT 1`},
		{Custom, ``},
		{Custom, `SELECT * FROM activities WHERE (id = $1`}, // unbalanced: the server refuses it, the class does not matter
	} {
		if got := Classify(c.query); got != c.want {
			t.Errorf("Classify(%q) = %v, want %v", c.query, got, c.want)
		}
	}
}

func TestArgs(t *testing.T) {
	const point = `SELECT "id" FROM "users" WHERE "id" = $1`
	const list = `SELECT "id" FROM "users" WHERE "tenant_id" = $1`
	args := []any{"a"}
	for _, c := range []struct {
		mode  Mode
		query string
		first any
	}{
		{Mode{Pgx: true}, point, pgx.QueryExecModeCacheStatement},
		{Mode{Pgx: true}, list, "a"},
		{Mode{Pgx: true, Pooled: true}, point, "a"},
		{Mode{}, point, "a"}, // lib/pq takes no mode
		// On Citus a statement pinned to one tenant is named too; one
		// that is not (the system viewer's fan-out) stays unnamed.
		{Mode{Pgx: true, Citus: true}, list, pgx.QueryExecModeCacheStatement},
		{Mode{Pgx: true, Citus: true}, point, pgx.QueryExecModeCacheStatement},
		{Mode{Pgx: true, Citus: true}, `SELECT "id" FROM "users" WHERE "status" = $1`, "a"},
		{Mode{Pgx: true, Citus: true}, `SELECT "id" FROM "users" WHERE "tenant_id" = $1 OR "status" = $2`, "a"},
		{Mode{Pgx: true, Citus: true}, `SELECT "id" FROM "users" WHERE "x" IN (SELECT "y" FROM "z" WHERE "tenant_id" = $1)`, "a"},
		{Mode{Pgx: true, Citus: true, Pooled: true}, list, "a"},
	} {
		got := c.mode.Args(c.query, args)
		if got[0] != c.first {
			t.Errorf("%+v %q: first argument %v, want %v", c.mode, c.query, got[0], c.first)
		}
	}
	if args[0] != "a" {
		t.Fatal("Args changed its input")
	}
}

// FuzzClassify: the classifier reads any text without panicking, and a
// balanced condition ORed with the key comparison never makes it Point.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{`"id" = $1`, `"status" = $2 AND "id" = $1`, `' FROM "x`, `(a = $1)`, `x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cond string) {
		_ = classify(cond)
		toks := tokens(cond)
		depth := 0
		for _, tk := range toks {
			if tk.text == "(" {
				depth++
			} else if tk.text == ")" {
				depth--
			}
			if depth < 0 || strings.Count(tk.text, "'")%2 != 0 || strings.Count(tk.text, `"`)%2 != 0 {
				return // not a balanced condition
			}
		}
		if depth != 0 {
			return
		}
		q := `SELECT 1 FROM t WHERE "id" = $1 OR (` + cond + `)`
		if classify(q).class == Point {
			t.Fatalf("%q is Point", q)
		}
	})
}
