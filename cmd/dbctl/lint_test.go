package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadmetrics/db/internal/migrate/erd"
	"github.com/leadmetrics/db/internal/migrate/lint"
	"github.com/leadmetrics/db/internal/testing/suitedb"
)

const lintFixture = "../../internal/migrate/lint/testdata/lint"

// TestLintCommand: errors fail the command (exit 1 through main), and the
// output names file, line and code.
func TestLintCommand(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"migrate", "lint", "--dir", lintFixture, "--latest", "3", "--dev-url", suitedb.EmptyURL(t)}, &out)
	if !errors.Is(err, lint.ErrFindings) {
		t.Fatalf("got %v, want ErrFindings\n%s", err, out.String())
	}
	if want := "/20260108000000_concurrent_in_tx.sql:1: LM104 error:"; !strings.Contains(out.String(), want) {
		t.Fatalf("output lacks %q:\n%s", want, out.String())
	}
}

func TestReviewCommand(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"migrate", "review", "--dir", lintFixture, "--latest", "1", "--dev-url", suitedb.EmptyURL(t)}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "## Migration review\n") || !strings.Contains(out.String(), "| 3 | dropped table | `tags` |") {
		t.Fatalf("review:\n%s", out.String())
	}
}

// TestSchemaERDCheck: --check passes right after writing and fails on a
// document that differs.
func TestSchemaERDCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "schema.md")
	args := []string{"schema", "erd", "--dir", "../../migrations", "--out", path, "--dev-url", suitedb.EmptyURL(t)}
	if err := run(context.Background(), args, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), append(args, "--check"), &bytes.Buffer{}); err != nil {
		t.Fatalf("fresh: %v", err)
	}
	if err := os.WriteFile(path, []byte("# old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), append(args, "--check"), &bytes.Buffer{}); !errors.Is(err, erd.ErrStale) {
		t.Fatalf("stale: got %v, want ErrStale", err)
	}
}
