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

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"

	"github.com/leadmetrics/db/ent/migrate"
	"github.com/leadmetrics/db/internal/migrate/dev"
	"github.com/leadmetrics/db/internal/tenantkeys"
	"github.com/leadmetrics/db/internal/testdb"
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

// withExtraColumn returns the schema's tables with one more column on users:
// the shape of a schema edit nobody generated a migration for.
func withExtraColumn() []*schema.Table {
	tables := tenantkeys.Apply(slices.Clone(migrate.Tables))
	for i, tbl := range tables {
		if tbl.Name == "users" {
			c := *tbl
			c.Columns = append(slices.Clone(tbl.Columns), &schema.Column{Name: "nickname", Type: field.TypeString, Nullable: true})
			tables[i] = &c
		}
	}
	return tables
}

// TestCheckInSync: the schema loaded from source, and the generated one,
// agree with the committed migrations.
func TestCheckInSync(t *testing.T) {
	loaded, err := dev.LoadTables("../../../ent/schema")
	if err != nil {
		t.Fatal(err)
	}
	for name, tables := range map[string][]*schema.Table{"source": loaded, "generated": tenantkeys.Apply(migrate.Tables)} {
		if err := dev.Check(context.Background(), testdb.EmptyURL(t), copyMigrations(t), tables); err != nil {
			t.Fatalf("%s schema and migrations disagree: %v", name, err)
		}
	}
}

func TestCheckCatchesChangedSchema(t *testing.T) {
	dir := copyMigrations(t)
	before, _ := dir.Files()
	err := dev.Check(context.Background(), testdb.EmptyURL(t), dir, withExtraColumn())
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
	tables := withExtraColumn()
	wrote, err := dev.Diff(ctx, testdb.EmptyURL(t), dir, "add_nickname", tables)
	if err != nil || !wrote {
		t.Fatalf("diff: wrote=%v err=%v", wrote, err)
	}
	files, _ := dir.Files()
	last := files[len(files)-1]
	if !strings.HasSuffix(last.Name(), "_add_nickname.sql") || !strings.Contains(string(last.Bytes()), "nickname") {
		t.Fatalf("new file %s:\n%s", last.Name(), last.Bytes())
	}
	if err := atlasmigrate.Validate(dir); err != nil {
		t.Fatalf("atlas.sum not updated: %v", err)
	}
	wrote, err = dev.Diff(ctx, testdb.EmptyURL(t), dir, "again", tables)
	if err != nil || wrote {
		t.Fatalf("second diff: wrote=%v err=%v, want no changes", wrote, err)
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
	want, err := dev.Inspect(ctx, testdb.EmptyURL(t), &fromFile)
	if err != nil {
		t.Fatalf("schema.sql does not apply: %v", err)
	}
	got, err := dev.Inspect(ctx, testdb.EmptyURL(t), copyMigrations(t))
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
