// Command dbctl is the operator tool of the Leadmetrics data layer: Atlas
// versioned migrations without the Atlas CLI binary, and the demo.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/ent/tenant"
	"github.com/leadmetrics/db/migrations"
	"github.com/leadmetrics/db/privacy"
)

// command is one dbctl command: its words, synopsis and runner. setup
// registers the command's flags and returns the function that runs it with
// the positional arguments.
type command struct {
	path    string // "migrate status"
	args    string // positional synopsis: "NAME", "[N]"
	nargs   [2]int // minimum and maximum number of positional arguments
	summary string
	help    string // longer description for -h (optional)
	setup   func(fs *flag.FlagSet) func(ctx context.Context, args []string, out io.Writer) error
}

// commands lists every command; the usage text and the dispatch read it.
var commands = []*command{
	{path: "demo", summary: "create the database if missing, migrate, write demo data, report",
		help:  "Refuses a database holding tenants the demo did not create (slugs other than its own) unless --force.",
		setup: demoCommand},
	{path: "doctor", summary: "reachability, server, settings, TLS, pool, migrations vs this binary (behind/ahead), the migration lock's holder",
		setup: doctorCommand},
	{path: "credentials rotate", summary: "re-seal credential secrets with the current key of CREDENTIALS_KEYS", setup: credentialsCommand},
	{path: "migrate diff", args: "NAME", nargs: [2]int{1, 1}, summary: "write a new migration from ent/schema vs migrations/",
		help: "NAME: " + migrations.NameRule + ". Prints the path of the file it wrote.", setup: migrateCommand(fDir|fURL|fDev|fSchema, migrateDiff)},
	{path: "migrate new", args: "NAME", nargs: [2]int{1, 1}, summary: "write an empty versioned file for a hand-written (data) migration, rehash atlas.sum",
		help: "NAME: " + migrations.NameRule + ".", setup: migrateCommand(fDir, migrateNew)},
	{path: "migrate apply", args: "[N]", nargs: [2]int{0, 1}, summary: "apply pending migrations (all, the next N, or up to --to-version; locked, one transaction per file)",
		setup: migrateCommand(fDir|fURL|fApply, migrateApply)},
	{path: "migrate status", summary: "target, current and next version, each file's state and applied-at time; exit 1 when one failed (--check: or is pending)",
		setup: migrateCommand(fDir|fURL|fStatus, migrateStatus)},
	{path: "migrate validate", summary: "check migrations/ against atlas.sum", setup: migrateCommand(fDir, migrateValidate)},
	{path: "migrate check", summary: "fail (and print the SQL) when ent/schema and migrations/ disagree",
		setup: migrateCommand(fDir|fURL|fDev|fSchema, migrateCheck)},
	{path: "migrate hash", summary: "rewrite atlas.sum after a deliberate edit", setup: migrateCommand(fDir, migrateHash)},
	{path: "migrate lint", summary: "analyze new migration files (destructive, data-dependent, backward-incompatible, constraint-drop, locking); exit 1 on errors",
		setup: migrateCommand(fDir|fURL|fDev|fBase, migrateLint)},
	{path: "migrate review", summary: "Markdown summary of the new files' changes and lint findings",
		setup: migrateCommand(fDir|fURL|fDev|fBase, migrateReview)},
	{path: "migrate history", summary: "fail when a landed migration was edited, removed, renamed or a new one sorts before the newest landed one",
		setup: migrateCommand(fDir|fBase, migrateHistory)},
	{path: "migrate reset", summary: "empty a development database (every schema, the migration history too), then apply every migration",
		help: "Refuses a database holding tenants unless --force.", setup: migrateCommand(fDir|fURL|fForce, migrateReset)},
	{path: "schema push", summary: "prototype: apply the current ent/schema straight to a development database, no migration file",
		help: "Prints the SQL first; --dry-run stops there. Refuses a database with migration revisions unless --force.\n" +
			"When the prototype is done, write the migration with 'dbctl migrate diff NAME' and reset the database.",
		setup: pushCommand},
	{path: "schema erd", summary: "write (or check) the ER diagram and table reference", setup: erdCommand},
	{path: "tenant suspend", args: "ID", nargs: [2]int{1, 1}, summary: "suspend a tenant: its writes are refused, reads go on; every process follows within " + privacy.TenantStateTTL.String(),
		setup: tenantStatusCommand(tenant.StatusSuspended)},
	{path: "tenant activate", args: "ID", nargs: [2]int{1, 1}, summary: "make a suspended or closed tenant active again",
		setup: tenantStatusCommand(tenant.StatusActive)},
	{path: "tenant close", args: "ID", nargs: [2]int{1, 1}, summary: "close a tenant: like suspend, for a tenant that left",
		setup: tenantStatusCommand(tenant.StatusClosed)},
	{path: "retention", summary: "purge LLM call, dispatch and audit logs older than an age, in batches (never the ledger)",
		help: "Resumable: a rerun continues where a stopped one left off. Billed LLM calls go too: their ledger entries keep the call id and are never rewritten.", setup: retentionCommand},
}

const environment = `Environment: DATABASE_URL (default local server), DATABASE_DEV_URL (clean dev
database for diff, check, lint, review and schema erd; default: a throwaway
database on the same server), DATABASE_POOL_MIN, DATABASE_POOL_MAX,
DATABASE_SSL, DATABASE_DRIVER, DATABASE_CONNECT_TIMEOUT (default 10s),
DATABASE_STATEMENT_TIMEOUT (not for migrate), DATABASE_IDLE_TX_TIMEOUT,
DATABASE_APPLICATION_NAME.
`

// usage is the top-level help, or a group's ("migrate") when group is set.
func usage(group string) string {
	var b strings.Builder
	b.WriteString("dbctl: operate the Leadmetrics PostgreSQL data layer\n\nUsage:\n")
	for _, c := range commands {
		if group != "" && !strings.HasPrefix(c.path, group+" ") {
			continue
		}
		fmt.Fprintf(&b, "  dbctl %s\n      %s\n", strings.TrimSpace(c.path+" "+c.args), c.summary)
	}
	b.WriteString("  dbctl --version\n      print the dbctl build and the newest migration it embeds\n\n")
	b.WriteString(environment)
	b.WriteString("Run 'dbctl COMMAND -h' for a command's flags.\n")
	return b.String()
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// Nothing dbctl prints may carry a password of a URL it was given.
	secrets := append([]string{os.Getenv("DATABASE_URL"), os.Getenv("DATABASE_DEV_URL")}, os.Args[1:]...)
	err := run(ctx, os.Args[1:], scrubWriter{os.Stdout, secrets})
	if ctx.Err() != nil {
		// Interrupted: whatever was running saw the cancelled context and
		// stopped (transactions rolled back); exit as shells expect.
		fmt.Fprintln(os.Stderr, "dbctl: interrupted")
		os.Exit(130)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dbctl:", db.Scrub(err.Error(), secrets...))
		var ec exitCoder
		if errors.As(err, &ec) {
			os.Exit(ec.ExitCode())
		}
		os.Exit(1)
	}
}

// scrubWriter removes the secrets of connection strings from output.
type scrubWriter struct {
	w       io.Writer
	secrets []string
}

func (s scrubWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(s.w, db.Scrub(string(p), s.secrets...)); err != nil {
		return 0, err
	}
	return len(p), nil
}

type exitCoder interface{ ExitCode() int }

// usageError is a mistake in the command line: exit 2, as flag does. help
// is the relevant help text (default: the top-level usage).
type usageError struct{ msg, help string }

func (e usageError) Error() string {
	return e.msg + "\n\n" + cmpOr(e.help, usage(""))
}
func (usageError) ExitCode() int { return 2 }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "help"
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return usageError{msg: "no command"}
	}
	switch {
	case isHelp(args[0]):
		fmt.Fprint(out, usage(""))
		return nil
	case args[0] == "--version" || args[0] == "-version" || args[0] == "version":
		return printVersion(out)
	}
	var cmd *command
	words := 0
	for _, c := range commands {
		w := strings.Fields(c.path)
		if len(w) <= len(args) && slices.Equal(w, args[:len(w)]) {
			cmd, words = c, len(w)
		}
	}
	if cmd != nil {
		return cmd.exec(ctx, args[words:], out)
	}
	group := args[0]
	isGroup := slices.ContainsFunc(commands, func(c *command) bool { return strings.HasPrefix(c.path, group+" ") })
	switch {
	case !isGroup:
		return usageError{msg: fmt.Sprintf("unknown command %q", args[0])}
	case len(args) > 1 && isHelp(args[1]):
		fmt.Fprint(out, usage(group))
		return nil
	case len(args) == 1:
		return usageError{msg: group + " needs a subcommand", help: usage(group)}
	}
	return usageError{msg: fmt.Sprintf("unknown %s subcommand %q", group, args[1]), help: usage(group)}
}

// exec parses the command's flags (anywhere among its arguments), checks
// the positional count and runs it. -h prints the help to out.
func (c *command) exec(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("dbctl "+c.path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	runner := c.setup(fs)
	pos, err := parseInterspersed(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(out, c.helpText(fs))
		return nil
	case err != nil:
		return usageError{msg: err.Error(), help: c.helpText(fs)}
	case len(pos) < c.nargs[0] || len(pos) > c.nargs[1]:
		msg := fmt.Sprintf("unexpected argument %q", strings.Join(pos, " "))
		if len(pos) < c.nargs[0] {
			msg = "missing " + c.args
		}
		return usageError{msg: c.path + ": " + msg, help: c.helpText(fs)}
	}
	return runner(ctx, pos, out)
}

// parseInterspersed parses flags placed before, between or after the
// positional arguments ("migrate diff NAME --dev-url X"); "--" ends flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

func (c *command) helpText(fs *flag.FlagSet) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Usage: dbctl %s [flags]\n\n%s\n", strings.TrimSpace(c.path+" "+c.args), c.summary)
	if c.help != "" {
		fmt.Fprintf(&b, "\n%s\n", c.help)
	}
	b.WriteString("\nFlags:\n")
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	b.WriteString("\n" + environment)
	return b.String()
}

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
