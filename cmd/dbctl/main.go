// Command dbctl is the operator tool of the Leadmetrics data layer: Atlas
// versioned migrations without the Atlas CLI binary, and the demo.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	db "github.com/leadmetrics/db"
)

const usage = `dbctl: operate the Leadmetrics PostgreSQL data layer

Usage:
  dbctl demo                       create the database if missing, migrate, write demo data, report
  dbctl doctor                     reachability, server, settings, TLS, pool, migrations vs this
                                   binary (behind/ahead), the migration lock's holder
  dbctl credentials rotate         re-seal credential secrets with the current key of CREDENTIALS_KEYS
  dbctl migrate diff NAME          write a new migration from ent/schema vs migrations/
  dbctl migrate apply              apply pending migrations (locked, one transaction per file)
  dbctl migrate status             list migration files and their state in the database
  dbctl migrate validate           check migrations/ against atlas.sum
  dbctl migrate check              fail (and print the SQL) when ent/schema and migrations/ disagree
  dbctl migrate hash               rewrite atlas.sum after a deliberate edit
  dbctl migrate lint [--latest N | --base REF]
                                   analyze new migration files (destructive, data-dependent,
                                   backward-incompatible, constraint-drop, locking); exit 1 on errors
  dbctl migrate review [--latest N | --base REF]
                                   Markdown summary of the new files' changes and lint findings
  dbctl migrate history [--base REF]
                                   fail when a landed migration was edited, removed, renamed or
                                   a new one sorts before the newest landed one
  dbctl schema erd [--out docs/schema.md] [--check]
                                   write (or check) the ER diagram and table reference

Environment: DATABASE_URL (default local server), DATABASE_DEV_URL (clean dev
database for diff, check, lint, review and schema erd; default: a throwaway database
on the same server),
DATABASE_POOL_MIN, DATABASE_POOL_MAX, DATABASE_SSL, DATABASE_DRIVER,
DATABASE_CONNECT_TIMEOUT (default 10s), DATABASE_STATEMENT_TIMEOUT (not for migrate),
DATABASE_IDLE_TX_TIMEOUT, DATABASE_APPLICATION_NAME.
Run 'dbctl migrate CMD -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// Nothing dbctl prints may carry a password of a URL it was given.
	secrets := append([]string{os.Getenv("DATABASE_URL"), os.Getenv("DATABASE_DEV_URL")}, os.Args[1:]...)
	if err := run(ctx, os.Args[1:], scrubWriter{os.Stdout, secrets}); err != nil {
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

// usageError is a mistake in the command line: exit 2, as flag does.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg + "\n\n" + usage }
func (usageError) ExitCode() int   { return 2 }

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return usageError{"no command"}
	}
	switch args[0] {
	case "demo":
		return runDemo(ctx, args[1:], out)
	case "credentials":
		return runCredentials(ctx, args[1:], out)
	case "doctor":
		return runDoctor(ctx, args[1:], out)
	case "migrate":
		if len(args) < 2 {
			return usageError{"migrate needs a subcommand"}
		}
		return runMigrate(ctx, args[1], args[2:], out)
	case "schema":
		if len(args) < 2 || args[1] != "erd" {
			return usageError{"schema needs the subcommand erd"}
		}
		return schemaERD(ctx, args[2:], out)
	case "-h", "--help", "help":
		fmt.Fprint(out, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q", strings.Join(args, " "))}
}
