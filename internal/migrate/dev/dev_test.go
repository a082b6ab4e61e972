package dev_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"

	"github.com/leadmetrics/db/internal/migrate/dev"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/migrations"
)

// copyMigrations copies the real migration directory into a temp dir.
func copyMigrations(t *testing.T) *atlasmigrate.LocalDir {
	t.Helper()
	dst := t.TempDir()
	src := "../../../migrations"
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") || e.Name() == "atlas.sum" {
			b, _ := os.ReadFile(filepath.Join(src, e.Name()))
			os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)
		}
	}
	dir, err := atlasmigrate.NewLocalDir(dst)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// schemaSQL is the committed schema.sql.
func schemaSQL(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../../../schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edited is schema.sql with old replaced by new (once, which must exist).
func edited(t *testing.T, old, new string) []byte {
	t.Helper()
	s := string(schemaSQL(t))
	if !strings.Contains(s, old) {
		t.Fatalf("schema.sql has no %q", old)
	}
	return []byte(strings.Replace(s, old, new, 1))
}

// TestSchemaFileIsFresh: schema.sql is what the ent/schema source renders
// now (go generate would not change it) and carries the source's hash.
func TestSchemaFileIsFresh(t *testing.T) {
	tables, err := dev.LoadTables("../../../ent/schema")
	if err != nil {
		t.Fatal(err)
	}
	body, err := dev.SchemaSQL(tables)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := dev.SchemaHash("../../../ent/schema")
	if err != nil {
		t.Fatal(err)
	}
	if got := dev.SchemaFile(hash, body); string(got) != string(schemaSQL(t)) {
		t.Fatal("schema.sql is not what ent/schema renders: run go generate ./...")
	}
	if _, err := dev.CheckSchemaFile("../../../schema.sql", "../../../ent/schema"); err != nil {
		t.Fatal(err)
	}
}

// TestStaleSchemaFileRefused: a schema package edited after schema.sql was
// generated makes CheckSchemaFile fail, naming what to run.
func TestStaleSchemaFileRefused(t *testing.T) {
	schemaDir := t.TempDir()
	entries, _ := os.ReadDir("../../../ent/schema")
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join("../../../ent/schema", e.Name()))
		os.WriteFile(filepath.Join(schemaDir, e.Name()), b, 0o644)
	}
	if _, err := dev.CheckSchemaFile("../../../schema.sql", schemaDir); err != nil {
		t.Fatalf("an identical copy: %v", err)
	}
	f := filepath.Join(schemaDir, "campaign.go")
	b, _ := os.ReadFile(f)
	os.WriteFile(f, append(b, []byte("\n// an edit\n")...), 0o644)
	_, err := dev.CheckSchemaFile("../../../schema.sql", schemaDir)
	if !errors.Is(err, dev.ErrStaleSchema) || !strings.Contains(err.Error(), "go generate ./...") {
		t.Fatalf("got %v, want ErrStaleSchema naming go generate", err)
	}
	noHash := filepath.Join(t.TempDir(), "schema.sql")
	os.WriteFile(noHash, []byte("CREATE TABLE t (id int);\n"), 0o644)
	if _, err := dev.CheckSchemaFile(noHash, schemaDir); !errors.Is(err, dev.ErrStaleSchema) {
		t.Fatalf("a schema file without a hash: %v", err)
	}
}

// TestCheckInSync: the committed schema.sql and migrations agree.
func TestCheckInSync(t *testing.T) {
	if err := dev.Check(context.Background(), suitedb.EmptyURL(t), copyMigrations(t), schemaSQL(t)); err != nil {
		t.Fatalf("schema.sql and migrations disagree: %v", err)
	}
}

const usersEmail = `"email" character varying(320) NOT NULL,`

func TestCheckCatchesChangedSchema(t *testing.T) {
	dir := copyMigrations(t)
	before, _ := dir.Files()
	err := dev.Check(context.Background(), suitedb.EmptyURL(t), dir, edited(t, usersEmail, usersEmail+` "nickname" character varying NULL,`))
	var drift *dev.DriftError
	if !errors.As(err, &drift) || !errors.Is(err, dev.ErrDrift) {
		t.Fatalf("got %v, want a DriftError", err)
	}
	if !strings.Contains(drift.SQL, `ALTER TABLE "users" ADD COLUMN "nickname"`) {
		t.Fatalf("drift SQL does not show the new column:\n%s", drift.SQL)
	}
	if after, _ := dir.Files(); len(after) != len(before) {
		t.Fatal("check wrote into the real directory")
	}
}

func TestDiffWritesFileThenNothing(t *testing.T) {
	ctx := context.Background()
	dir := copyMigrations(t)
	desired := edited(t, usersEmail, usersEmail+` "nickname" character varying NULL,`)
	p, err := dev.Plan(ctx, suitedb.EmptyURL(t), dir, "add_nickname", desired, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !p.AtlasIdentical || len(p.Destructive) > 0 {
		t.Fatalf("an added column: identical %v, destructive %v", p.AtlasIdentical, p.Destructive)
	}
	want := "-- Modify \"users\" table\nALTER TABLE \"users\" ADD COLUMN \"nickname\" character varying NULL;\n"
	if string(p.Body) != want {
		t.Fatalf("body:\n%s\nwant:\n%s", p.Body, want)
	}
	name, err := dev.Write(dir, p, time.Now())
	if err != nil || !strings.HasSuffix(name, "_add_nickname.sql") {
		t.Fatalf("write: %q %v", name, err)
	}
	if err := atlasmigrate.Validate(dir); err != nil {
		t.Fatalf("atlas.sum not updated: %v", err)
	}
	if _, err = dev.Plan(ctx, suitedb.EmptyURL(t), dir, "again", desired, nil); !errors.Is(err, atlasmigrate.ErrNoPlan) {
		t.Fatalf("second diff: %v, want no changes", err)
	}
}

// TestDropsAsked: a dropped column with an added one of its type, and a
// dropped table with an added one of its columns, are refused until
// decided; a rename is written as RENAME (acknowledged for the community
// lint) and a drop as a drop, both under a warning header.
func TestDropsAsked(t *testing.T) {
	ctx := context.Background()
	devURL := suitedb.EmptyURL(t)
	renamedCol := edited(t, `"objective" text NULL`, `"goal" text NULL`)
	_, err := dev.Plan(ctx, devURL, copyMigrations(t), "x", renamedCol, nil)
	var de *dev.DropsError
	if !errors.As(err, &de) || !errors.Is(err, dev.ErrUndecidedDrops) || len(de.Drops) != 1 ||
		de.Drops[0].String() != "campaigns.objective" || !slices.Equal(de.Drops[0].Candidates, []string{"goal"}) ||
		!strings.Contains(err.Error(), "--rename campaigns.objective=goal or --allow-drop campaigns.objective") {
		t.Fatalf("undecided: %v", err)
	}
	decide := func(to string) dev.Decide {
		return func(drops []dev.Drop) ([]dev.Decision, error) { return []dev.Decision{{RenameTo: to}}, nil }
	}
	p, err := dev.Plan(ctx, devURL, copyMigrations(t), "x", renamedCol, decide("goal"))
	if err != nil {
		t.Fatal(err)
	}
	body := string(p.Body)
	if p.AtlasIdentical || !strings.HasPrefix(body, "-- Warnings (dbctl migrate diff)") ||
		!strings.Contains(body, "renames column \"objective\" of table \"campaigns\" to \"goal\"") ||
		!strings.Contains(body, "-- atlas:nolint DS103\nALTER TABLE \"campaigns\" RENAME COLUMN \"objective\" TO \"goal\";\n") ||
		strings.Contains(body, "DROP COLUMN") {
		t.Fatalf("rename:\n%s", body)
	}
	p, err = dev.Plan(ctx, devURL, copyMigrations(t), "x", renamedCol, decide(""))
	if err != nil {
		t.Fatal(err)
	}
	if body := string(p.Body); !strings.Contains(body, "drops column \"objective\" of table \"campaigns\": its data is lost") ||
		!strings.Contains(body, `DROP COLUMN "objective"`) || !strings.Contains(body, `ADD COLUMN "goal" text NULL`) {
		t.Fatalf("drop:\n%s", body)
	}
	if _, err := dev.Plan(ctx, devURL, copyMigrations(t), "x", renamedCol, decide("nope")); err == nil || !strings.Contains(err.Error(), "candidates: goal") {
		t.Fatalf("rename to a name the diff does not add: %v", err)
	}

	// A table: plans renamed to plan_catalog (same columns).
	s := string(schemaSQL(t))
	renamedTable := []byte(strings.ReplaceAll(s, `"plans"`, `"plan_catalog"`))
	_, err = dev.Plan(ctx, devURL, copyMigrations(t), "x", renamedTable, nil)
	if !errors.As(err, &de) || de.Drops[0].String() != "plans" || !slices.Equal(de.Drops[0].Candidates, []string{"plan_catalog"}) {
		t.Fatalf("undecided table: %v", err)
	}
	p, err = dev.Plan(ctx, devURL, copyMigrations(t), "x", renamedTable, decide("plan_catalog"))
	if err != nil {
		t.Fatal(err)
	}
	if body := string(p.Body); !strings.Contains(body, "-- atlas:nolint DS102\nALTER TABLE \"plans\" RENAME TO \"plan_catalog\";\n") || strings.Contains(body, "DROP TABLE") {
		t.Fatalf("table rename:\n%s", body)
	}
}

// TestSchemaFileMatchesMigrations: schema.sql (atlas.hcl's src) builds the
// same schema as the migration directory, so 'atlas migrate diff' with the
// community CLI finds nothing to write on a clean tree, as dbctl does.
func TestSchemaFileMatchesMigrations(t *testing.T) {
	ctx := context.Background()
	body, err := os.ReadFile("../../../schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	fromFile := atlasmigrate.MemDir{}
	if err := fromFile.WriteFile("1_schema.sql", body); err != nil {
		t.Fatal(err)
	}
	if err := migrations.Rehash(&fromFile); err != nil {
		t.Fatal(err)
	}
	want, err := dev.Inspect(ctx, suitedb.EmptyURL(t), &fromFile)
	if err != nil {
		t.Fatalf("schema.sql does not apply: %v", err)
	}
	got, err := dev.Inspect(ctx, suitedb.EmptyURL(t), copyMigrations(t))
	if err != nil {
		t.Fatal(err)
	}
	changes, err := postgres.DefaultDiff.RealmDiff(got, want)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) > 0 {
		plan, _ := postgres.DefaultPlan.PlanChanges(ctx, "drift", changes)
		var b strings.Builder
		for _, c := range plan.Changes {
			b.WriteString(c.Cmd + ";\n")
		}
		t.Fatalf("schema.sql and migrations/ differ (run go generate ./...):\n%s", b.String())
	}
}

// TestStringBounds: the committed schema passes, and a field whose MaxLen
// and column type disagree fails LoadTables, so diff, check and push refuse
// it with the fix.
func TestStringBounds(t *testing.T) {
	if _, err := dev.LoadTables("../../../ent/schema"); err != nil {
		t.Fatal(err)
	}
	col := func(size int64, st string) *schema.Column {
		c := &schema.Column{Name: "c", Type: field.TypeString, Size: size}
		if st != "" {
			c.SchemaType = map[string]string{dialect.Postgres: st}
		}
		return c
	}
	for _, tc := range []struct {
		col  *schema.Column
		want string
	}{
		{col(200, ""), `t.c: MaxLen(200) but the column is "character varying": add .SchemaType(varchar(200))`},
		{col(100, "varchar(320)"), "t.c: column varchar(320) but MaxLen(100): make them agree"},
		{col(0, "varchar(10)"), "t.c: column varchar(10) but MaxLen(0): make them agree"},
		{col(3, "char(3)"), ""},
		{col(25, "varchar(25)"), ""},
		{col(math.MaxInt32, ""), ""}, // field.Text
		{col(0, ""), ""},             // no bound at all
	} {
		err := dev.CheckStringBounds([]*schema.Table{{Name: "t", Columns: []*schema.Column{tc.col}}})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.col, err)
		case tc.want != "" && (!errors.Is(err, dev.ErrStringBounds) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: got %v, want %q", tc.col, err, tc.want)
		}
	}
}
