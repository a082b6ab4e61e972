// Package dev plans migrations: schema.sql rendered from the ent/schema
// source without a database (LoadTables, SchemaSQL), new versioned files
// diffed from schema.sql the way the official CLI's 'migrate diff' does
// (Plan), with dropped columns and tables asked about, and the drift check.
// Nothing here uses the compiled client, so a stale binary or code that no
// longer compiles against the new schema does not matter.
package dev

import (
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

	"github.com/leadmetrics/db/internal/dbconfig"
	"github.com/leadmetrics/db/internal/migrate/pgserver"
	"github.com/leadmetrics/db/internal/migrate/tenantkeys"
	"github.com/leadmetrics/db/migrations"
)

// LoadTables loads the Ent schema package at schemaPath (a directory or
// package path, e.g. "./ent/schema") from source, the way entc does (it
// compiles the schema package and what it imports, not the code using the
// client), and returns its tables.
func LoadTables(schemaPath string) ([]*schema.Table, error) {
	graph, err := entc.LoadGraph(schemaPath, &gen.Config{})
	if err != nil {
		return nil, fmt.Errorf("dev: load %s: %w", schemaPath, err)
	}
	return TablesOf(graph)
}

// TablesOf returns the tables of a loaded schema graph, shaped as the
// migrations have them.
func TablesOf(graph *gen.Graph) ([]*schema.Table, error) {
	tables, err := graph.Tables()
	if err != nil {
		return nil, fmt.Errorf("dev: tables of %s: %w", graph.Config.Schema, err)
	}
	// The tenant-leading keys Ent cannot declare (internal/migrate/tenantkeys).
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

// WithDatabase runs fn with a clean dev database: devURL when set, else a
// throwaway database on the server of serverDSN, dropped afterwards.
func WithDatabase(ctx context.Context, devURL, serverDSN string, fn func(devURL string) error) error {
	if devURL != "" {
		return fn(devURL)
	}
	devURL, drop, err := pgserver.Throwaway(ctx, serverDSN, "dbctl_dev")
	if err != nil {
		return fmt.Errorf("dev: create a dev database on %s (or set DATABASE_DEV_URL): %w", dbconfig.RedactURL(serverDSN), err)
	}
	defer drop()
	return fn(devURL)
}

// Push changes the public schema of the database under sqlDB to tables
// directly, with no migration file (prototyping). Both sides are read back
// from PostgreSQL (the desired state built on the clean dev database
// devURL), so a second push finds nothing. show receives each statement
// first; with dryRun nothing runs. It returns the number of statements,
// applied in one transaction.
func Push(ctx context.Context, sqlDB *sql.DB, devURL string, tables []*schema.Table, dryRun bool, show func(stmt string)) (int, error) {
	body, err := SchemaSQL(tables)
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
