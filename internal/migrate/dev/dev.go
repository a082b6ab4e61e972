// Package dev plans migrations from the Ent schema: new versioned
// files, and the drift check that a fresh diff yields nothing. The schema
// is loaded from the ent/schema source at run time (LoadTables), never from
// the compiled client, so a stale binary or code that no longer compiles
// against the new schema does not matter.
package dev

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	atlasschema "ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"
	"entgo.io/ent/schema/field"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/internal/pgserver"
	"github.com/leadmetrics/db/internal/tenantkeys"
	"github.com/leadmetrics/db/migrations"
)

// ErrDrift is returned by Check when the schema and the directory disagree.
var ErrDrift = errors.New("ent/schema and migrations/ disagree")

// DriftError carries the SQL a new migration would contain.
type DriftError struct{ SQL string }

func (e *DriftError) Error() string {
	return "dev: " + ErrDrift.Error() + "; run 'dbctl migrate diff NAME'. Pending changes:\n" + e.SQL
}

func (e *DriftError) Is(target error) bool { return target == ErrDrift }

// LoadTables loads the Ent schema package at schemaPath (a directory or
// package path, e.g. "./ent/schema") from source, the way entc does (it
// compiles the schema package and what it imports, not the code using the
// client), and returns its tables.
func LoadTables(schemaPath string) ([]*schema.Table, error) {
	graph, err := entc.LoadGraph(schemaPath, &gen.Config{})
	if err != nil {
		return nil, fmt.Errorf("dev: load %s: %w", schemaPath, err)
	}
	tables, err := graph.Tables()
	if err != nil {
		return nil, fmt.Errorf("dev: tables of %s: %w", schemaPath, err)
	}
	// The tenant-leading keys Ent cannot declare (internal/tenantkeys).
	return tenantkeys.Apply(tables), CheckStringBounds(tables)
}

// ErrStringBounds matches (errors.Is) a schema whose string MaxLen and
// column type disagree.
var ErrStringBounds = errors.New("string field bounds disagree")

var boundedType = regexp.MustCompile(`^(?:varchar|char|character varying|character)\((\d+)\)$`)

// CheckStringBounds fails when a string field's MaxLen(n) and its
// PostgreSQL type say different things: Ent keeps MaxLen to Go validation
// (the column stays an unbounded character varying) unless the field also
// says SchemaType(varchar(n)) (or char(n)). field.Text is unbounded text.
func CheckStringBounds(tables []*schema.Table) error {
	var bad []string
	for _, t := range tables {
		for _, c := range t.Columns {
			if c.Type != field.TypeString || c.Size >= math.MaxInt32 {
				continue
			}
			st := c.SchemaType[dialect.Postgres]
			m := boundedType.FindStringSubmatch(st)
			switch {
			case c.Size > 0 && m == nil:
				bad = append(bad, fmt.Sprintf("%s.%s: MaxLen(%d) but the column is %q: add .SchemaType(varchar(%d))",
					t.Name, c.Name, c.Size, cmp.Or(st, "character varying"), c.Size))
			case m != nil && m[1] != strconv.FormatInt(c.Size, 10):
				bad = append(bad, fmt.Sprintf("%s.%s: column %s but MaxLen(%d): make them agree", t.Name, c.Name, st, c.Size))
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("dev: %w (MIGRATIONS.md, \"String lengths\"):\n  %s", ErrStringBounds, strings.Join(bad, "\n  "))
	}
	return nil
}

// Diff writes a new migration file named name into dir for the difference
// between tables (the desired schema) and the state dir replays to on the
// clean dev database devURL. It reports false when there was nothing to
// write.
func Diff(ctx context.Context, devURL string, dir atlasmigrate.Dir, name string, tables []*schema.Table) (bool, error) {
	err := schema.Diff(ctx, devURL, name, tables,
		schema.WithDir(dir),
		schema.WithMigrationMode(schema.ModeReplay),
		schema.WithDialect(dialect.Postgres),
		schema.WithFormatter(atlasmigrate.DefaultFormatter),
		schema.WithDropColumn(true),
		schema.WithDropIndex(true),
		schema.WithErrNoPlan(true),
	)
	switch {
	case errors.Is(err, atlasmigrate.ErrNoPlan):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("dev: diff: %w", err)
	}
	return true, nil
}

// Check plans tables against an in-memory copy of dir and returns a
// *DriftError holding the SQL when a new migration would not be empty.
func Check(ctx context.Context, devURL string, dir atlasmigrate.Dir, tables []*schema.Table) error {
	files, err := dir.Files()
	if err != nil {
		return err
	}
	mem := &atlasmigrate.MemDir{}
	if err := mem.CopyFiles(files); err != nil {
		return err
	}
	if err := migrations.Rehash(mem); err != nil {
		return err
	}
	wrote, err := Diff(ctx, devURL, mem, "drift", tables)
	if err != nil || !wrote {
		return err
	}
	after, err := mem.Files()
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, f := range after[len(files):] {
		b.Write(f.Bytes())
	}
	return &DriftError{SQL: b.String()}
}

// WithDatabase runs fn with a clean dev database: devURL when set, else a
// throwaway database on the server of serverDSN, dropped afterwards.
func WithDatabase(ctx context.Context, devURL, serverDSN string, fn func(devURL string) error) error {
	if devURL != "" {
		return fn(devURL)
	}
	devURL, drop, err := pgserver.Throwaway(ctx, serverDSN, "dbctl_dev")
	if err != nil {
		return fmt.Errorf("dev: create a dev database on %s (or set DATABASE_DEV_URL): %w", db.RedactURL(serverDSN), err)
	}
	defer drop()
	return fn(devURL)
}

// SchemaSQL is the SQL that creates tables on an empty database: the
// desired state as one file, for tools that take a schema file (the
// community Atlas CLI's src) and for reviews.
func SchemaSQL(ctx context.Context, devURL string, tables []*schema.Table) ([]byte, error) {
	mem := &atlasmigrate.MemDir{}
	if _, err := Diff(ctx, devURL, mem, "schema", tables); err != nil {
		return nil, err
	}
	files, err := mem.Files()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for _, f := range files {
		b.Write(f.Bytes())
	}
	return b.Bytes(), nil
}

// Push changes the public schema of the database under sqlDB to tables
// directly, with no migration file (prototyping). Both sides are read back
// from PostgreSQL (the desired state built on the clean dev database
// devURL), so a second push finds nothing. show receives each statement
// first; with dryRun nothing runs. It returns the number of statements,
// applied in one transaction.
func Push(ctx context.Context, sqlDB *sql.DB, devURL string, tables []*schema.Table, dryRun bool, show func(stmt string)) (int, error) {
	body, err := SchemaSQL(ctx, devURL, tables)
	if err != nil {
		return 0, err
	}
	mem := &atlasmigrate.MemDir{}
	if err := mem.WriteFile("1_schema.sql", body); err != nil {
		return 0, err
	}
	if err := migrations.Rehash(mem); err != nil {
		return 0, err
	}
	realm, err := Inspect(ctx, devURL, mem)
	if err != nil {
		return 0, err
	}
	desired, ok := realm.Schema("public")
	if !ok {
		return 0, errors.New("dev: push: the desired schema has no public schema")
	}
	drv, err := postgres.Open(sqlDB)
	if err != nil {
		return 0, fmt.Errorf("dev: push: %w", err)
	}
	current, err := drv.InspectSchema(ctx, "public", nil)
	if err != nil {
		return 0, fmt.Errorf("dev: push: inspect: %w", err)
	}
	changes, err := drv.SchemaDiff(current, desired)
	if err != nil || len(changes) == 0 {
		return 0, err
	}
	plan, err := drv.PlanChanges(ctx, "push", changes)
	if err != nil {
		return 0, fmt.Errorf("dev: push: plan: %w", err)
	}
	for _, c := range plan.Changes {
		show(c.Cmd)
	}
	if dryRun {
		return len(plan.Changes), nil
	}
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	for _, c := range plan.Changes {
		if _, err := tx.ExecContext(ctx, c.Cmd, c.Args...); err != nil {
			return 0, fmt.Errorf("dev: push: %s: %w", c.Cmd, err)
		}
	}
	return len(plan.Changes), tx.Commit()
}

// Open connects to the clean dev database devURL through Atlas's
// PostgreSQL driver (diff, inspect, lint); close the *sql.DB when done.
func Open(devURL string) (*sql.DB, atlasmigrate.Driver, error) {
	db, err := sql.Open("pgx", devURL)
	if err != nil {
		return nil, nil, err
	}
	drv, err := postgres.Open(db)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("dev database: %w", err)
	}
	return db, drv, nil
}

// Inspect replays dir on the clean dev database devURL and returns the
// schema it builds (the dev database is left clean).
func Inspect(ctx context.Context, devURL string, dir atlasmigrate.Dir) (*atlasschema.Realm, error) {
	db, drv, err := Open(devURL)
	if err != nil {
		return nil, fmt.Errorf("dev: %w", err)
	}
	defer db.Close()
	ex, err := atlasmigrate.NewExecutor(drv, dir, atlasmigrate.NopRevisionReadWriter{})
	if err != nil {
		return nil, err
	}
	realm, err := ex.Replay(ctx, atlasmigrate.RealmConn(drv, &atlasschema.InspectRealmOption{}))
	if err != nil {
		return nil, fmt.Errorf("dev: replay: %w", err)
	}
	return realm, nil
}
