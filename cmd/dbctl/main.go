// Command dbctl is the schema and migration tool of the Leadmetrics data
// layer: Atlas versioned migrations without the Atlas CLI binary, the
// developer loop (migrate dev) and the operator's doctor. It never builds
// the generated Ent client (it reads ent/schema from source and
// schema.sql), so a schema edit cannot stop it from building; the demo and
// the data operations are datactl's.
package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/leadmetrics/db/internal/cli"
	"github.com/leadmetrics/db/internal/dbconfig"
	"github.com/leadmetrics/db/migrations"
)

var program = &cli.Program{
	Name:  "dbctl",
	Title: "the Leadmetrics schema, its migrations and the database they run on",
	Commands: []*cli.Command{
		{Path: "doctor", Summary: "reachability, server, settings, TLS, pool, migrations vs this binary (behind/ahead), the migration lock's holder",
			Setup: doctorCommand},
		{Path: "migrate dev", Args: "NAME", NArgs: [2]int{1, 1}, Summary: "the developer loop: regenerate from ent/schema, write, lint and review the migration, apply it to the development database",
			Help: "NAME: " + migrations.NameRule + ". One command after a schema edit: regenerates ent/, schema.sql and the other\n" +
				"go:generate outputs, writes the migration (asking 'rename or drop?' on a terminal), lints it, prints the\n" +
				"review summary and applies it to DATABASE_URL (--url), created when missing. Without a terminal a dropped\n" +
				"column or table needs --rename or --allow-drop.", Setup: devCommand},
		{Path: "migrate diff", Args: "NAME", NArgs: [2]int{1, 1}, Summary: "write a new migration from schema.sql vs migrations/ (the file 'atlas migrate diff --env local' writes)",
			Help: "NAME: " + migrations.NameRule + ". Prints the path of the file it wrote. Refuses a schema.sql older than ent/schema.\n" +
				"A dropped column or table is asked about on a terminal (rename or drop?); without one it needs\n" +
				"--rename TABLE.OLD=NEW (TABLE=NEW for a table) or --allow-drop TABLE.COLUMN (TABLE).", Setup: migrateCommand(fDir|fURL|fDev|fSchema|fDrops, migrateDiff)},
		{Path: "migrate new", Args: "NAME", NArgs: [2]int{1, 1}, Summary: "write an empty versioned file for a hand-written (data) migration, rehash atlas.sum",
			Help: "NAME: " + migrations.NameRule + ".", Setup: migrateCommand(fDir, migrateNew)},
		{Path: "migrate apply", Args: "[N]", NArgs: [2]int{0, 1}, Summary: "apply pending migrations (all, the next N, or up to --to-version; locked, one transaction per file)",
			Help: "--dry-run prints the SQL of the files it would apply, and applies nothing.", Setup: migrateCommand(fDir|fURL|fApply, migrateApply)},
		{Path: "migrate status", Summary: "target, current and next version, each file's state and applied-at time; exit 1 when one failed (--check: or is pending)",
			Setup: migrateCommand(fDir|fURL|fStatus|fFormat, migrateStatus)},
		{Path: "migrate validate", Summary: "check migrations/ against atlas.sum", Setup: migrateCommand(fDir, migrateValidate)},
		{Path: "migrate check", Summary: "fail (and print the SQL) when schema.sql is older than ent/schema, or schema.sql and migrations/ disagree",
			Setup: migrateCommand(fDir|fURL|fDev|fSchema, migrateCheck)},
		{Path: "migrate hash", Summary: "rewrite atlas.sum after a deliberate edit", Setup: migrateCommand(fDir, migrateHash)},
		{Path: "migrate lint", Summary: "analyze new migration files (destructive, data-dependent, backward-incompatible, constraint-drop, locking); exit 1 on errors",
			Setup: migrateCommand(fDir|fURL|fDev|fBase|fFormat, migrateLint)},
		{Path: "migrate review", Summary: "Markdown summary of the new files' changes and lint findings",
			Setup: migrateCommand(fDir|fURL|fDev|fBase|fFormat, migrateReview)},
		{Path: "migrate history", Summary: "fail when a landed migration was edited, removed, renamed or a new one sorts before the newest landed one",
			Setup: migrateCommand(fDir|fBase|fFormat, migrateHistory)},
		{Path: "migrate reset", Summary: "empty a development database (every schema, the migration history too), then apply every migration",
			Help: "Refuses a database holding tenants unless --force.", Setup: migrateCommand(fDir|fURL|fForce, migrateReset)},
		{Path: "schema push", Summary: "prototype: apply the current ent/schema straight to a development database, no migration file",
			Help: "Prints the SQL first; --dry-run stops there. Refuses a database with migration revisions unless --force.\n" +
				"When the prototype is done, write the migration with 'dbctl migrate diff NAME' and reset the database.",
			Setup: pushCommand},
		{Path: "schema erd", Summary: "write (or check) the ER diagram and table reference", Setup: erdCommand},
	},
	Moved: []cli.Moved{
		{Path: "demo", To: "go run ./cmd/datactl demo"},
		{Path: "retention", To: "go run ./cmd/datactl retention"},
		{Path: "credentials", To: "go run ./cmd/datactl credentials rotate"},
		{Path: "tenant", To: "go run ./cmd/datactl tenant suspend|activate|close ID"},
	},
	Environment: dbconfig.Help(dbconfig.ByConfig, dbconfig.ByDbctl),
	Version:     printVersion,
}

func main() { program.Main() }

// run is the program without the process around it (tests).
func run(ctx context.Context, args []string, out io.Writer) error { return program.Run(ctx, args, out) }

// printVersion prints the module version stamped by the Go toolchain and
// the newest migration compiled into the binary.
func printVersion(out io.Writer) error {
	version, revision := "(unknown)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Path + " " + bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	dir, err := migrations.Embedded()
	if err != nil {
		return err
	}
	files, err := dir.Files()
	if err != nil {
		return err
	}
	newest := "none"
	if len(files) > 0 {
		newest = files[len(files)-1].Version()
	}
	fmt.Fprintf(out, "dbctl %s", version)
	if revision != "" {
		fmt.Fprintf(out, " (commit %.12s)", revision)
	}
	fmt.Fprintf(out, "\nmigrations: version %s (%d files embedded)\n", newest, len(files))
	return nil
}
