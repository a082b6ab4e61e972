package privacy_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/activity"
	"github.com/leadmetrics/db/ent/campaign"
	"github.com/leadmetrics/db/ent/deliverable"
	"github.com/leadmetrics/db/ent/predicate"
	"github.com/leadmetrics/db/internal/testing/recorder"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/internal/testing/tenancytest"
	"github.com/leadmetrics/db/privacy"
)

// Caller SQL at any depth (issue 18, findings 1-3): tenant A's raw
// predicates, orders and aggregates read only A's live rows, take no lock,
// and no error they raise quotes a row of B.

// secretB is the name of B's campaign the attacks try to read.
const secretB = "B-confidential-launch-plan-7731"

type callerSQLEnv struct {
	env        *tenancytest.Env
	a, b       string
	ctxA       context.Context
	campA      []string // A's live campaigns
	bValues    []string // text only B's rows hold
	actA, actB string
}

// newCallerSQLEnv: A has two campaigns whose names are valid date_trunc
// units and regular expressions (so an error raised on A's rows is told
// apart from one raised on B's), and an activity; B has five campaigns,
// one with a name that is no valid regular expression, and an activity.
func newCallerSQLEnv(t *testing.T) *callerSQLEnv {
	env := tenancytest.New(t, 2)
	e := &callerSQLEnv{env: env, a: env.Tenants[0], b: env.Tenants[1]}
	e.ctxA = privacy.WithTenant(context.Background(), e.a)
	ctxB := privacy.WithTenant(context.Background(), e.b)
	sys := privacy.WithSystem(context.Background())
	c := env.Client
	for _, name := range []string{"day", "month"} {
		e.campA = append(e.campA, c.Campaign.Create().SetName(name).SaveX(e.ctxA).ID)
	}
	e.actA = c.Activity.Create().SetType("t").SetTitle("a").SetCampaignID(e.campA[0]).SaveX(e.ctxA).ID
	var campB []string
	for _, name := range []string{secretB, "B-(unbalanced", "B-three", "B-four", "B-five"} {
		campB = append(campB, c.Campaign.Create().SetName(name).SaveX(ctxB).ID)
	}
	e.actB = c.Activity.Create().SetType("t").SetTitle("b").SetCampaignID(campB[0]).SaveX(ctxB).ID
	c.CreditBalance.Create().SetTenantID(e.a).SaveX(sys)
	c.CreditBalance.Create().SetTenantID(e.b).SaveX(sys)
	e.bValues = append([]string{secretB, "B-(unbalanced", e.b, e.actB}, campB...)
	return e
}

// leak fails t when err quotes anything only B's rows hold.
func (e *callerSQLEnv) leak(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, v := range e.bValues {
		if strings.Contains(err.Error(), v) {
			t.Fatalf("%s: the error carries B's data %q: %v", what, v, err)
		}
	}
	if strings.Contains(err.Error(), "regular expression") || strings.Contains(err.Error(), "division by zero") {
		t.Fatalf("%s: the error was raised on B's rows: %v", what, err)
	}
}

func exprP(text string) func(*entsql.Selector) {
	return func(s *entsql.Selector) { s.Where(entsql.ExprP(text)) }
}

// planSettings make PostgreSQL pick other plans for the same statement:
// the guarantee may not hang on the plan the small test tables get.
var planSettings = []string{
	"",
	"SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off",
	"SET LOCAL enable_seqscan = off",
	"SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; SET LOCAL enable_material = off",
	"SET LOCAL enable_nestloop = off; SET LOCAL enable_hashagg = off",
	"SET LOCAL plan_cache_mode = force_generic_plan",
}

// Finding 1: a predicate's sub-select, or the predicate itself, reads B's
// data through an error message, whatever plan PostgreSQL picks.
func TestCallerSQLErrorsCarryNoOtherTenantData(t *testing.T) {
	e := newCallerSQLEnv(t)
	queries := map[string]func(c *ent.Client) error{
		"cast of a sub-select": func(c *ent.Client) error {
			_, err := c.Campaign.Query().Where(exprP("CAST((SELECT name FROM campaigns WHERE name LIKE 'B-%' LIMIT 1) AS integer) = 1")).All(e.ctxA)
			return err
		},
		"cast of a whole row (attribute notation)": func(c *ent.Client) error {
			_, err := c.Campaign.Query().Where(exprP("CAST((SELECT c.row_to_json FROM campaigns c WHERE c.name LIKE 'B-%' LIMIT 1)::text AS integer) = 1")).All(e.ctxA)
			return err
		},
		"cast of a sub-select of a neighbour table": func(c *ent.Client) error {
			_, err := c.Activity.Query().Where(exprP("CAST((SELECT title FROM activities WHERE title = 'b' LIMIT 1) || id AS integer) = 1")).All(e.ctxA)
			return err
		},
		"erroring call inside a sub-select": func(c *ent.Client) error {
			_, err := c.Activity.Query().Where(exprP("EXISTS (SELECT 1 FROM campaigns c WHERE c.id = activities.campaign_id AND date_trunc(c.name, c.created_at) IS NULL)")).All(e.ctxA)
			return err
		},
		"erroring call on the statement's own rows": func(c *ent.Client) error {
			_, err := c.Campaign.Query().Where(exprP("date_trunc(name, created_at) IS NULL")).All(e.ctxA)
			return err
		},
		"plain typed predicate (control)": func(c *ent.Client) error {
			_, err := c.Campaign.Query().Where(campaign.NameEQ("day")).All(e.ctxA)
			return err
		},
		"regular expression from the statement's own rows": func(c *ent.Client) error {
			_, err := c.Campaign.Query().Where(exprP("'x' ~ name")).All(e.ctxA)
			return err
		},
		"erroring call in an edge predicate": func(c *ent.Client) error {
			_, err := c.Activity.Query().Where(activity.HasCampaignWith(predicate.Campaign(exprP("date_trunc(name, created_at) IS NULL")))).All(e.ctxA)
			return err
		},
		"erroring call beside a typed predicate": func(c *ent.Client) error {
			_, err := c.Campaign.Query().Where(exprP("date_trunc(name, created_at) IS NULL")).Where(func(s *entsql.Selector) {
				s.Where(entsql.NotNull(s.C("id")))
			}).Count(e.ctxA)
			return err
		},
		"erroring call in an update": func(c *ent.Client) error {
			_, err := c.Campaign.Update().Where(exprP("date_trunc(name, created_at) IS NULL")).SetObjective("x").Save(e.ctxA)
			return err
		},
		"erroring call in a delete": func(c *ent.Client) error {
			_, err := c.Campaign.Delete().Where(exprP("'x' ~ name")).Exec(e.ctxA)
			return err
		},
	}
	for name, q := range queries {
		for _, set := range planSettings {
			if strings.Contains(set, "generic") && suitedb.OnCitus() {
				continue // Citus plans no sub-select or CASE on the tenant with generic plans, layer or not (0A000)
			}
			t.Run(name+"/"+set, func(t *testing.T) {
				before := e.env.TenantSnapshot(e.b)
				tx, err := e.env.Client.Tx(e.ctxA)
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback()
				if set != "" {
					if _, err := tx.Client().ExecContext(e.ctxA, set); err != nil {
						t.Fatal(err)
					}
				}
				e.leak(t, name, q(tx.Client()))
				if e.env.TenantSnapshot(e.b) != before {
					t.Fatal("B's data changed")
				}
			})
		}
	}
	c := e.env.Client
	// The same errors are still raised on A's own rows: the rule keeps
	// foreign rows away from caller expressions, it does not hide errors.
	_, err := c.Campaign.Query().Where(exprP("CAST((SELECT name FROM campaigns WHERE name = 'day') AS integer) = 1")).All(e.ctxA)
	if err == nil || !strings.Contains(err.Error(), `"day"`) {
		t.Fatalf("a cast of A's own row: %v, want PostgreSQL's error quoting A's value", err)
	}
	// Attribute notation and whole-row references are refused outright.
	for _, text := range []string{
		"(SELECT c.row_to_json FROM campaigns c LIMIT 1) IS NULL",
		"(SELECT (c).row_to_json FROM campaigns c LIMIT 1) IS NULL",
		"(SELECT row_to_json(c) FROM campaigns c LIMIT 1) IS NULL",
		"(SELECT c::text FROM campaigns c LIMIT 1) IS NULL",
		"(SELECT to_jsonb(c.*) FROM campaigns c LIMIT 1) IS NULL",
		"campaigns IS NULL",
		"campaigns.row_to_json IS NULL",
	} {
		if _, err := c.Campaign.Query().Where(exprP(text)).All(e.ctxA); !errors.Is(err, privacy.ErrUnsafeSQL) {
			t.Errorf("%s: %v, want ErrUnsafeSQL", text, err)
		}
	}
}

// Finding 2: sub-selects without the word SELECT count every tenant's rows.
func TestCallerSQLSubSelectsSeeOnlyTheViewer(t *testing.T) {
	e := newCallerSQLEnv(t)
	c := e.env.Client
	n := len(e.campA) // A's rows end here; B's would go on
	more, err := c.Campaign.Query().Aggregate(func(*entsql.Selector) string {
		return fmt.Sprintf(`bool_or(EXISTS (TABLE campaigns OFFSET %d)) AS "more"`, n)
	}).Bool(e.ctxA)
	e.leak(t, "aggregate", err)
	if err != nil || more {
		t.Fatalf("EXISTS (TABLE campaigns OFFSET %d) in an aggregate: %v %v, want false: A has %d campaigns", n, more, err, n)
	}
	count, err := c.Activity.Query().Aggregate(func(*entsql.Selector) string {
		return `(SELECT count(*) FROM campaigns) AS "n"`
	}).Int(e.ctxA)
	if err != nil || count != n {
		t.Fatalf("a count of campaigns in an aggregate: %d %v, want %d", count, err, n)
	}
	// An order term that fails on B's rows only.
	_, err = c.Campaign.Query().Order(func(s *entsql.Selector) {
		s.OrderBy(fmt.Sprintf("CASE WHEN EXISTS (TABLE campaigns OFFSET %d) THEN 1/(length(name)-length(name)) ELSE 1 END", n))
	}).All(e.ctxA)
	e.leak(t, "order", err)
	if err != nil {
		t.Fatalf("order term: %v", err)
	}
	// Every syntax of a sub-select over a tenant table counts A's rows only.
	for _, sub := range []string{
		"SELECT 1 FROM campaigns",
		"TABLE campaigns",
		"SELECT 1 FROM campaigns, activities",
		"SELECT 1 FROM campaigns WHERE EXISTS (TABLE campaigns)",
	} {
		ids, err := c.Campaign.Query().Where(exprP(fmt.Sprintf("(SELECT count(*) FROM (%s) x) = %d", sub, n))).IDs(e.ctxA)
		if !errors.Is(err, privacy.ErrUnsafeSQL) {
			t.Errorf("a derived table %q: %v, want ErrUnsafeSQL", sub, err)
		}
		ids, err = c.Campaign.Query().Where(exprP(fmt.Sprintf("EXISTS (%s OFFSET %d)", sub, n*n))).IDs(e.ctxA)
		if err != nil || len(ids) != 0 {
			t.Errorf("EXISTS (%s OFFSET %d): %v %v, want no row: A has only %d", sub, n*n, ids, err, n*n)
		}
	}
	// Forms the layer does not rewrite are refused: WITH, VALUES, LATERAL,
	// set-returning functions, other schemas and catalogs, regclass.
	for _, text := range []string{
		"EXISTS (WITH x AS (TABLE campaigns) SELECT 1 FROM x)",
		"EXISTS (VALUES (1))",
		"EXISTS (SELECT 1 FROM campaigns c, LATERAL (SELECT c.id) l)",
		"EXISTS (SELECT 1 FROM generate_series(1, 2))",
		"EXISTS (SELECT 1 FROM public.campaigns)",
		"EXISTS (SELECT 1 FROM pg_catalog.pg_class)",
		"EXISTS (SELECT 1 FROM pg_class)",
		"EXISTS (SELECT 1 FROM atlas_schema_revisions)",
		"'campaigns'::regclass IS NOT NULL",
		"CAST('campaigns' AS regclass) IS NOT NULL",
		"EXISTS (SELECT 1 FROM ONLY campaigns)",
		"EXISTS (SELECT 1 FROM campaigns UNION SELECT 1 FROM campaigns)",
		"EXISTS (SELECT 1 FROM campaigns JOIN activities ON true)",
		"current_setting('search_path') = ''",
		"query_to_xml('TABLE campaigns', true, true, '') IS NOT NULL",
		"pg_advisory_lock(1) IS NULL",
		"lo_import('/etc/passwd') IS NULL",
		"current_user = 'postgres'",
	} {
		if _, err := c.Campaign.Query().Where(exprP(text)).IDs(e.ctxA); !errors.Is(err, privacy.ErrUnsafeSQL) {
			t.Errorf("%s: %v, want ErrUnsafeSQL", text, err)
		}
	}
}

// Finding 3: a tenant's read locks other tenants' rows (OFFSET makes the
// sub-select read, and lock, every row it reaches).
func TestCallerSQLTakesNoLock(t *testing.T) {
	e := newCallerSQLEnv(t)
	lockings := []string{"FOR UPDATE", "FOR NO KEY UPDATE", "FOR SHARE", "FOR KEY SHARE", "FOR UPDATE SKIP LOCKED", "FOR UPDATE OF credit_balances NOWAIT"}
	type attempt struct {
		name string
		run  func(c *ent.Client, lock string) error
	}
	attempts := []attempt{
		{"predicate", func(c *ent.Client, lock string) error {
			_, err := c.Campaign.Query().Where(exprP("EXISTS (SELECT 1 FROM credit_balances OFFSET 10 " + lock + ")")).All(e.ctxA)
			return err
		}},
		{"predicate TABLE", func(c *ent.Client, lock string) error {
			_, err := c.Campaign.Query().Where(exprP("EXISTS (TABLE credit_balances OFFSET 10 " + lock + ")")).All(e.ctxA)
			return err
		}},
		{"order", func(c *ent.Client, lock string) error {
			_, err := c.Campaign.Query().Order(func(s *entsql.Selector) { s.OrderBy("EXISTS (TABLE credit_balances OFFSET 10 " + lock + ")") }).All(e.ctxA)
			return err
		}},
		{"aggregate", func(c *ent.Client, lock string) error {
			_, err := c.Campaign.Query().Aggregate(func(*entsql.Selector) string {
				return `bool_or(EXISTS (TABLE credit_balances OFFSET 10 ` + lock + `)) AS "x"`
			}).Bool(e.ctxA)
			return err
		}},
		{"update", func(c *ent.Client, lock string) error {
			_, err := c.Campaign.Update().Where(exprP("EXISTS (SELECT 1 FROM credit_balances OFFSET 10 " + lock + ")")).SetObjective("x").Save(e.ctxA)
			return err
		}},
		{"edge predicate", func(c *ent.Client, lock string) error {
			_, err := c.Activity.Query().Where(activity.HasCampaignWith(predicate.Campaign(exprP("EXISTS (SELECT 1 FROM credit_balances OFFSET 10 " + lock + ")")))).All(e.ctxA)
			return err
		}},
	}
	for _, at := range attempts {
		for _, lock := range lockings {
			t.Run(at.name+"/"+lock, func(t *testing.T) {
				tx, err := e.env.Client.Tx(e.ctxA)
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback()
				err = at.run(tx.Client(), lock)
				if !errors.Is(err, privacy.ErrUnsafeSQL) {
					t.Errorf("got %v, want ErrUnsafeSQL", err)
				}
				// B's balance is free: another session locks it at once.
				if err := lockFree(e.env.DB, e.b); err != nil {
					t.Fatalf("B's balance is locked by A's read: %v", err)
				}
			})
		}
	}
}

// lockFree locks tenant's balance row in a transaction of its own without
// waiting (NOWAIT fails at once on a held lock) and rolls back.
func lockFree(db *sql.DB, tenant string) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	_, err = tx.Exec(`SELECT 1 FROM credit_balances WHERE tenant_id = $1 FOR UPDATE NOWAIT`, tenant)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "55P03" {
		return fmt.Errorf("lock not available: %w", err)
	}
	return err
}

// Edge predicates see the neighbour's live rows: HasX on an edge the
// neighbour holds is a sub-select over its table, scoped like any other
// (before issue 18 it counted soft-deleted neighbours; HasXWith did not).
func TestHasEdgeSeesLiveNeighbours(t *testing.T) {
	e := newCallerSQLEnv(t)
	c := e.env.Client
	d := c.Deliverable.Create().SetActivityID(e.actA).SetKind(deliverable.KindBlogPost).SetTitle("d").SaveX(e.ctxA)
	count := func() int {
		n, err := c.Activity.Query().Where(activity.HasDeliverables()).Count(e.ctxA)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 1 {
		t.Fatalf("HasDeliverables with a live deliverable: %d, want 1", n)
	}
	c.Deliverable.DeleteOne(d).ExecX(e.ctxA)
	if n := count(); n != 0 {
		t.Fatalf("HasDeliverables with a deleted deliverable: %d, want 0", n)
	}
	if n, err := c.Activity.Query().Where(activity.HasDeliverables()).Count(privacy.WithDeleted(e.ctxA)); err != nil || n != 1 {
		t.Fatalf("HasDeliverables under WithDeleted: %d %v, want 1", n, err)
	}
}

// The plans PostgreSQL makes for caller SQL that could fail on a row: no
// scan evaluates it in its own conditions, where it could meet another
// tenant's row before the tenant condition; it runs in a CASE behind the
// statement's scope, or in a Subquery Scan above a fenced sub-select (the
// scan below it holds only the scope). Checked under every plan setting.
func TestCallerSQLPlansKeepTheScopeFirst(t *testing.T) {
	suitedb.SkipOnCitus(t, "plans are the workers'; the behaviour is tested on Citus by TestCallerSQLErrorsCarryNoOtherTenantData")
	e := newCallerSQLEnv(t)
	rec := recorder.Open(e.env.DB)
	c := ent.NewClient(ent.Driver(rec))
	const marker = "date_trunc"
	queries := map[string]func() error{
		"statement's rows": func() error {
			_, err := c.Campaign.Query().Where(exprP("date_trunc(name, created_at) IS NULL")).All(e.ctxA)
			return err
		},
		"beside a typed predicate": func() error {
			_, err := c.Campaign.Query().Where(campaign.NameNEQ("x"), exprP("date_trunc(name, created_at) IS NULL")).All(e.ctxA)
			return err
		},
		"sub-select": func() error {
			_, err := c.Activity.Query().Where(exprP("EXISTS (SELECT 1 FROM campaigns c WHERE c.id = activities.campaign_id AND date_trunc(c.name, c.created_at) IS NULL)")).All(e.ctxA)
			return err
		},
		"uncorrelated sub-select": func() error {
			_, err := c.Activity.Query().Where(exprP("EXISTS (SELECT 1 FROM campaigns c WHERE date_trunc(c.name, c.created_at) IS NULL)")).All(e.ctxA)
			return err
		},
		"edge predicate": func() error {
			_, err := c.Activity.Query().Where(activity.HasCampaignWith(predicate.Campaign(exprP("date_trunc(name, created_at) IS NULL")))).All(e.ctxA)
			return err
		},
	}
	for name, q := range queries {
		rec.Take()
		if err := q(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		stmts := rec.Take()
		if len(stmts) != 1 || !strings.Contains(stmts[0].SQL, marker) {
			t.Fatalf("%s: recorded %v", name, stmts)
		}
		s := stmts[0]
		for _, set := range planSettings {
			tx, err := e.env.DB.Begin()
			if err != nil {
				t.Fatal(err)
			}
			for _, stmt := range strings.Split(set, ";") {
				if strings.TrimSpace(stmt) != "" {
					if _, err := tx.Exec(stmt); err != nil {
						t.Fatal(err)
					}
				}
			}
			var plan string
			err = tx.QueryRow("EXPLAIN (VERBOSE, FORMAT JSON) "+s.SQL, s.Args...).Scan(&plan)
			tx.Rollback()
			if err != nil {
				t.Fatalf("%s: explain: %v", name, err)
			}
			var nodes []map[string]any
			if err := json.Unmarshal([]byte(plan), &nodes); err != nil {
				t.Fatal(err)
			}
			for _, bad := range unguardedConditions(nodes[0]["Plan"].(map[string]any), marker) {
				t.Errorf("%s (%s): a %s evaluates caller SQL in its own condition: %s", name, set, bad[0], bad[1])
			}
		}
	}
}

// unguardedConditions walks a JSON plan and returns, for each node whose
// scan or join conditions hold marker outside a CASE and that is not a
// Subquery Scan (above a fenced sub-select), its type and the condition.
func unguardedConditions(node map[string]any, marker string) [][2]string {
	var bad [][2]string
	typ, _ := node["Node Type"].(string)
	for _, key := range []string{"Filter", "Index Cond", "Recheck Cond", "Join Filter", "Hash Cond", "Merge Cond", "One-Time Filter"} {
		cond, _ := node[key].(string)
		if strings.Contains(cond, marker) && typ != "Subquery Scan" && !strings.Contains(cond, "CASE WHEN") {
			bad = append(bad, [2]string{typ, key + ": " + cond})
		}
	}
	children, _ := node["Plans"].([]any)
	for _, c := range children {
		bad = append(bad, unguardedConditions(c.(map[string]any), marker)...)
	}
	return bad
}
