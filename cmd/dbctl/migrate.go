package main

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect/sql/schema"

	"github.com/leadmetrics/db/internal/cli"
	"github.com/leadmetrics/db/internal/dbconfig"
	"github.com/leadmetrics/db/internal/migrate/dev"
	"github.com/leadmetrics/db/migrations"
)

// migrateFlags are shared by the migrate subcommands; each registers the
// groups it reads.
type migrateFlags struct {
	dir         string
	url         string
	devURL      string
	baseline    string
	allowDirty  bool
	toVersion   string
	lockWait    time.Duration
	lockTimeout time.Duration
	latest      int
	base        string
	check       bool
	schema      string
	src         string
	force       bool
	dryRun      bool
	renames     []string
	allowDrops  []string
	format      *cli.Format
}

// Flag groups a migrate command registers.
const (
	fDir    = 1 << iota // --dir
	fURL                // --url
	fDev                // --dev-url
	fApply              // apply's flags
	fBase               // --base, --latest
	fStatus             // status's flags
	fSchema             // --schema, --src
	fForce              // --force (reset)
	fDrops              // --rename, --allow-drop
	fFormat             // --format, --json
)

func (f *migrateFlags) register(fs *flag.FlagSet, groups int) {
	if groups&fDir != 0 {
		fs.StringVar(&f.dir, "dir", "migrations", "migration directory")
	}
	if groups&fURL != 0 {
		fs.StringVar(&f.url, "url", "", "target database URL (default DATABASE_URL, else the local server)")
	}
	if groups&fDev != 0 {
		fs.StringVar(&f.devURL, "dev-url", os.Getenv("DATABASE_DEV_URL"), "clean dev database (default: a throwaway database on the target server)")
	}
	if groups&fApply != 0 {
		fs.StringVar(&f.baseline, "baseline", "", "version the existing schema already matches")
		fs.BoolVar(&f.allowDirty, "allow-dirty", false, "apply on a database that has tables but no migration history (exclusive with --baseline)")
		fs.StringVar(&f.toVersion, "to-version", "", "apply the pending files up to and including this version")
		fs.DurationVar(&f.lockWait, "lock-wait", 2*time.Minute, "how long to wait for another applier")
		fs.DurationVar(&f.lockTimeout, "lock-timeout", migrations.DefaultLockTimeout, "how long a statement waits for a table lock before the file gives up (PostgreSQL lock_timeout; 0: the server's setting)")
		fs.BoolVar(&f.dryRun, "dry-run", false, "print the SQL of the files that would be applied, apply nothing")
	}
	if groups&fSchema != 0 {
		fs.StringVar(&f.schema, "schema", "./ent/schema", "Ent schema package (its source; never the compiled client)")
		fs.StringVar(&f.src, "src", "schema.sql", "the desired schema generated from --schema (atlas.hcl's src); refused when older than --schema")
	}
	if groups&fDrops != 0 {
		fs.Func("rename", "TABLE.OLD=NEW: a dropped column is renamed to the added NEW (TABLE=NEW for a table); repeatable", func(v string) error {
			f.renames = append(f.renames, v)
			return nil
		})
		fs.Func("allow-drop", "TABLE.COLUMN (or TABLE): the drop is intended; repeatable", func(v string) error {
			f.allowDrops = append(f.allowDrops, v)
			return nil
		})
	}
	if groups&fFormat != 0 {
		f.format = cli.FormatFlag(fs)
	}
	if groups&fForce != 0 {
		fs.BoolVar(&f.force, "force", false, "reset even a database that holds tenants")
	}
	if groups&fStatus != 0 {
		fs.BoolVar(&f.check, "check", false, "exit 1 when files are pending, too (not only when one failed)")
	}
	if groups&fBase != 0 {
		fs.IntVar(&f.latest, "latest", 0, "analyze the newest N files (instead of --base)")
		fs.StringVar(&f.base, "base", "auto", "git revision whose migration files have landed (auto: see MIGRATIONS.md)")
	}
}

// migrateCommand builds a command's setup from its flag groups and runner.
func migrateCommand(groups int, fn func(ctx context.Context, f *migrateFlags, args []string, out io.Writer) error) func(*flag.FlagSet) func(context.Context, []string, io.Writer) error {
	return func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
		f := &migrateFlags{}
		f.register(fs, groups)
		return func(ctx context.Context, args []string, out io.Writer) error { return fn(ctx, f, args, out) }
	}
}

func migrateValidate(ctx context.Context, f *migrateFlags, _ []string, out io.Writer) error {
	if _, err := f.validDir(); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: atlas.sum matches\n", f.dir)
	return nil
}

func migrateHash(ctx context.Context, f *migrateFlags, _ []string, out io.Writer) error {
	dir, err := f.openDir()
	if err != nil {
		return err
	}
	if err := migrations.CheckFileNames(dir); err != nil {
		return err
	}
	return migrations.Rehash(dir)
}

// errNoDir: the migration directory is not where --dir points.
var errNoDir = errors.New("migration directory not found")

// openDir opens --dir, explaining how to point at it when it is missing.
func (f *migrateFlags) openDir() (*atlasmigrate.LocalDir, error) {
	if st, err := os.Stat(f.dir); err != nil || !st.IsDir() {
		wd, _ := os.Getwd()
		return nil, fmt.Errorf("%w: %q (relative to %s): run dbctl from the repository root, or pass --dir PATH/TO/migrations", errNoDir, f.dir, wd)
	}
	return atlasmigrate.NewLocalDir(f.dir)
}

// loadTables loads --schema from source, explaining how to point at it
// when a directory path does not exist.
func (f *migrateFlags) loadTables() ([]*schema.Table, error) {
	if strings.HasPrefix(f.schema, ".") || filepath.IsAbs(f.schema) {
		if st, err := os.Stat(f.schema); err != nil || !st.IsDir() {
			wd, _ := os.Getwd()
			return nil, fmt.Errorf("ent schema package not found: %q (relative to %s): run dbctl from the repository root, or pass --schema PATH/TO/ent/schema", f.schema, wd)
		}
	}
	return dev.LoadTables(f.schema)
}

// validDir opens --dir and checks file names and atlas.sum.
func (f *migrateFlags) validDir() (*atlasmigrate.LocalDir, error) {
	dir, err := f.openDir()
	if err != nil {
		return nil, err
	}
	return dir, migrations.Validate(dir)
}

// desiredSQL reads --src, refusing it when older than --schema.
func (f *migrateFlags) desiredSQL() ([]byte, error) {
	return dev.CheckSchemaFile(f.src, f.schema)
}

// targetConfig is the configuration from the environment, with --url.
func (f *migrateFlags) targetConfig() (dbconfig.Config, error) {
	cfg, err := dbconfig.FromEnv()
	if err != nil {
		return cfg, err
	}
	if f.url != "" {
		cfg.URL = f.url
	}
	cfg.PoolMin = 1
	// A migration is bounded by --lock-timeout, not by the services'
	// DATABASE_STATEMENT_TIMEOUT: a long index build must not be cut off.
	cfg.StatementTimeout = 0
	return cfg, cfg.Validate()
}

// withDevURL runs fn with a clean dev database: --dev-url, or a throwaway
// one on the target server, dropped afterwards.
func (f *migrateFlags) withDevURL(ctx context.Context, fn func(devURL string) error) error {
	dsn := ""
	if f.devURL == "" {
		cfg, err := f.targetConfig()
		if err != nil {
			return err
		}
		if dsn, err = cfg.DSN(); err != nil {
			return err
		}
	}
	return dev.WithDatabase(ctx, f.devURL, dsn, fn)
}

// dirForNew checks the name of a new file, then opens and validates --dir.
func (f *migrateFlags) dirForNew(name string) (*atlasmigrate.LocalDir, error) {
	if err := migrations.CheckName(name); err != nil {
		return nil, err
	}
	return f.validDir()
}

func migrateDiff(ctx context.Context, f *migrateFlags, args []string, out io.Writer) error {
	name := args[0]
	dir, err := f.dirForNew(name)
	if err != nil {
		return err
	}
	desired, err := f.desiredSQL()
	if err != nil {
		return err
	}
	decide, err := f.decider(os.Stdin, os.Stderr)
	if err != nil {
		return err
	}
	return f.withDevURL(ctx, func(devURL string) error {
		_, err := writeDiff(ctx, devURL, dir, f.dir, name, desired, decide, out)
		return err
	})
}

// writeDiff plans and writes one migration file, printing what it wrote;
// "" when there was nothing to write.
func writeDiff(ctx context.Context, devURL string, dir atlasmigrate.Dir, dirPath, name string, desired []byte, decide dev.Decide, out io.Writer) (string, error) {
	p, err := dev.Plan(ctx, devURL, dir, name, desired, decide)
	if errors.Is(err, atlasmigrate.ErrNoPlan) {
		fmt.Fprintln(out, "no changes")
		return "", nil
	}
	if err != nil {
		return "", err
	}
	file, err := dev.Write(dir, p, time.Now())
	if err != nil {
		return "", err
	}
	for _, d := range p.Destructive {
		fmt.Fprintf(out, "warning: it %s\n", d)
	}
	fmt.Fprintf(out, "wrote %s\nwrote %s\n", filepath.Join(dirPath, file), filepath.Join(dirPath, atlasmigrate.HashFileName))
	return file, nil
}

// migrateNew writes an empty versioned file for a hand-written (data)
// migration and rehashes atlas.sum.
func migrateNew(ctx context.Context, f *migrateFlags, args []string, out io.Writer) error {
	name := args[0]
	dir, err := f.dirForNew(name)
	if err != nil {
		return err
	}
	files, err := dir.Files()
	if err != nil {
		return err
	}
	version := dev.NewVersion(time.Now(), files)
	body := fmt.Sprintf(newFileTemplate, name)
	if err := dir.WriteFile(version+"_"+name+".sql", []byte(body)); err != nil {
		return err
	}
	if err := migrations.Rehash(dir); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s and atlas.sum\n", filepath.Join(f.dir, version+"_"+name+".sql"))
	return nil
}

// newFileTemplate opens a hand-written migration (MIGRATIONS.md, "Data
// migrations").
const newFileTemplate = `-- %s: a hand-written migration. It runs in its own transaction,
-- after the files before it; statements end with ';'. Keep it re-runnable
-- where you can (WHERE clauses that skip rows already done). After editing,
-- run 'dbctl migrate hash', then 'dbctl migrate lint'.

`

func migrateCheck(ctx context.Context, f *migrateFlags, _ []string, out io.Writer) error {
	dir, err := f.validDir()
	if err != nil {
		return err
	}
	desired, err := f.desiredSQL()
	if err != nil {
		return err
	}
	return f.withDevURL(ctx, func(devURL string) error {
		if err := dev.Check(ctx, devURL, dir, desired); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s is as fresh as %s, and %s builds the same schema\n", f.src, f.schema, f.dir)
		return nil
	})
}

func migrateApply(ctx context.Context, f *migrateFlags, args []string, out io.Writer) error {
	amount := 0
	if len(args) == 1 {
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 1 {
			return cli.UsageError{Msg: fmt.Sprintf("migrate apply: N must be a positive number of files, not %q", args[0])}
		}
		amount = n
	}
	if f.allowDirty && f.baseline != "" {
		return cli.UsageError{Msg: "migrate apply: --allow-dirty and --baseline exclude each other"}
	}
	dir, err := f.validDir()
	if err != nil {
		return err
	}
	_, sqlDB, err := f.openTarget(ctx, false)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	opts := migrations.Options{
		Dir: dir, LockWait: f.lockWait, StatementLockTimeout: cmp.Or(f.lockTimeout, -1), BaselineVersion: f.baseline,
		AllowDirty: f.allowDirty, Amount: amount, ToVersion: f.toVersion,
		Log: func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) },
	}
	if f.dryRun {
		return printPending(ctx, sqlDB, opts, out)
	}
	res, err := migrations.Apply(ctx, sqlDB, opts)
	if err != nil {
		return err
	}
	if len(res.Applied) == 0 {
		fmt.Fprintf(out, "no pending migrations; database at version %s\n", res.Current)
		return nil
	}
	fmt.Fprintf(out, "applied %d migration(s); database at version %s\n", len(res.Applied), res.Current)
	return nil
}

// printPending is apply --dry-run: the SQL of each file apply would run,
// in order, applying nothing.
func printPending(ctx context.Context, sqlDB *sql.DB, opts migrations.Options, out io.Writer) error {
	files, err := migrations.Pending(ctx, sqlDB, opts)
	if err != nil {
		return err
	}
	for _, file := range files {
		fmt.Fprintf(out, "-- dbctl: %s\n", file.Name())
		out.Write(file.Bytes())
		if b := file.Bytes(); len(b) > 0 && b[len(b)-1] != '\n' {
			fmt.Fprintln(out)
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "-- dry run: %d file(s) not applied\n", len(files))
	return nil
}

func migrateStatus(ctx context.Context, f *migrateFlags, _ []string, out io.Writer) error {
	dir, err := f.validDir()
	if err != nil {
		return err
	}
	cfg, sqlDB, err := f.openTarget(ctx, false)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	st, err := migrations.Status(ctx, sqlDB, dir)
	if err != nil {
		return err
	}
	dist, err := migrations.Distribution(ctx, sqlDB)
	if err != nil {
		return err
	}
	if f.format.JSON() {
		return writeStatusJSON(out, cfg.Redacted(), st, dist, f.check)
	}
	serr := writeStatus(out, cfg.Redacted(), st, f.check)
	writeDistribution(out, dist)
	return serr
}

// statusJSON is migrate status --format json.
type statusJSON struct {
	Target       string                         `json:"target"`
	Current      string                         `json:"current"`
	Next         string                         `json:"next"`
	Applied      int                            `json:"applied"`
	Pending      int                            `json:"pending"`
	Failed       int                            `json:"failed"`
	Files        []fileStatusJSON               `json:"files"`
	Distribution []migrations.TableDistribution `json:"citus,omitempty"`
}

type fileStatusJSON struct {
	Version     string     `json:"version"`
	Description string     `json:"description"`
	State       string     `json:"state"`
	AppliedAt   *time.Time `json:"applied_at,omitempty"`
	Error       string     `json:"error,omitempty"`
	ErrorStmt   string     `json:"error_stmt,omitempty"`
}

func writeStatusJSON(out io.Writer, target string, st []migrations.FileStatus, dist []migrations.TableDistribution, check bool) error {
	c := countStatus(st)
	doc := statusJSON{Target: target, Current: c.current, Next: c.next, Applied: len(st) - c.pending - c.failed,
		Pending: c.pending, Failed: c.failed, Files: []fileStatusJSON{}, Distribution: dist}
	for _, s := range st {
		fs := fileStatusJSON{Version: s.Version, Description: s.Description, State: s.State, Error: s.Error, ErrorStmt: s.ErrorStmt}
		if !s.AppliedAt.IsZero() {
			at := s.AppliedAt.UTC()
			fs.AppliedAt = &at
		}
		doc.Files = append(doc.Files, fs)
	}
	if err := cli.WriteJSON(out, doc); err != nil {
		return err
	}
	return c.err(check)
}

// statusCounts summarizes a status listing.
type statusCounts struct {
	current, next   string
	failed, pending int
}

func countStatus(st []migrations.FileStatus) statusCounts {
	c := statusCounts{current: "none", next: "none"}
	for _, s := range st {
		switch s.State {
		case "applied", "baseline":
			c.current = s.Version
		case "failed", "partial":
			c.failed++
		case "pending":
			if c.pending == 0 {
				c.next = s.Version
			}
			c.pending++
		}
	}
	return c
}

// err makes status exit 1 when a file failed, and with check when one is
// pending.
func (c statusCounts) err(check bool) error {
	switch {
	case c.failed > 0:
		return errMigrationsFailed
	case check && c.pending > 0:
		return errMigrationsPending
	}
	return nil
}

// writeDistribution prints each table's Citus placement (nothing without
// the citus extension); a local table there is one apply did not place.
func writeDistribution(out io.Writer, dist []migrations.TableDistribution) {
	if dist == nil {
		return
	}
	fmt.Fprintln(out, "\ncitus:")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tTYPE\tCOLUMN\tCOLOCATION\tSHARDS")
	for _, d := range dist {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", d.Table, d.Type, cmp.Or(d.Column, "-"), d.ColocationID, d.ShardCount)
	}
	tw.Flush()
}

// errMigrationsFailed and errMigrationsPending make status exit 1.
var (
	errMigrationsFailed  = errors.New("a migration failed: fix the file (or the data) and apply again")
	errMigrationsPending = errors.New("migrations are pending (--check)")
)

// writeStatus prints the target, the current and next versions and one
// line per file; failed files fail it, and pending ones with check.
func writeStatus(out io.Writer, target string, st []migrations.FileStatus, check bool) error {
	c := countStatus(st)
	fmt.Fprintf(out, "target:  %s\ncurrent: %s\nnext:    %s\n\n", target, c.current, c.next)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSTATE\tAPPLIED AT\tDESCRIPTION")
	for _, s := range st {
		at := "-"
		if !s.AppliedAt.IsZero() {
			at = s.AppliedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Version, s.State, at, s.Description)
	}
	tw.Flush()
	for _, s := range st {
		if s.State == "failed" || s.State == "partial" {
			fmt.Fprintf(out, "\n%s %s: %s\n  at statement: %s\n", s.Version, s.State, cmp.Or(s.Error, "stopped part-way (atlas:txmode none)"), s.ErrorStmt)
		}
	}
	fmt.Fprintf(out, "\n%d file(s): %d applied, %d pending, %d failed\n", len(st), len(st)-c.pending-c.failed, c.pending, c.failed)
	return c.err(check)
}
