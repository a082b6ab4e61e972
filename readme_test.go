package db_test

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/migrations"
)

// readmeSources are the compiled files README's Go blocks show, in order:
// each block is the file from its import block to its end.
var readmeSources = []string{"example_startup_test.go"}

// readmeMaxLines keeps the README a page a newcomer reads at a glance.
const readmeMaxLines = 120

var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

// TestReadmeCodeCompiles: every Go block of README.md is a file the tests
// compile (and run), word for word, so the README cannot show code that
// does not build; and the README stays short.
func TestReadmeCodeCompiles(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(readme), "\n"); n > readmeMaxLines {
		t.Errorf("README.md has %d lines: at most %d (what, the two commands, the quick start, the layout, the environment); the rest belongs in doc.go or docs/", n, readmeMaxLines)
	}
	blocks := goBlock.FindAllStringSubmatch(string(readme), -1)
	if len(blocks) != len(readmeSources) {
		t.Fatalf("README.md has %d Go blocks, readmeSources lists %d files", len(blocks), len(readmeSources))
	}
	for i, b := range blocks {
		src, err := os.ReadFile(readmeSources[i])
		if err != nil {
			t.Fatal(err)
		}
		_, shown, ok := strings.Cut(string(src), "\nimport (")
		if !ok {
			t.Fatalf("%s has no import block", readmeSources[i])
		}
		if want := "import (" + shown; b[1] != want {
			t.Errorf("README.md Go block %d differs from %s (from its imports on); copy the file into the README:\n%s", i+1, readmeSources[i], want)
		}
	}
}

// TestStartupDuringRollingDeploy: the README's start-up code starts on a
// database a newer release already migrated further (an old pod restarting
// during a rollout) instead of failing with an AheadError.
func TestStartupDuringRollingDeploy(t *testing.T) {
	url := suitedb.URL(t)
	sqlDB := suitedb.Open(t, url)
	if _, err := sqlDB.Exec(`INSERT INTO atlas_schema_revisions.atlas_schema_revisions
		(version, description, type, applied, total, executed_at, execution_time, hash, operator_version)
		VALUES ('29991231000000', 'from_the_next_release', 2, 1, 1, now(), 0, 'x', 'test')`); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", url)
	ctx := context.Background()
	h, err := start(ctx)
	if err != nil {
		t.Fatalf("start on a database ahead of this binary: %v", err)
	}
	defer h.Close()
	if _, err := pendingActivities(ctx, h, "t1"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Check(ctx); err == nil || !strings.Contains(err.Error(), "29991231000000") {
		t.Fatalf("readiness does not report the database ahead: %v", err)
	}
	if _, err := migrations.Apply(ctx, h.SQL, migrations.Options{}); err == nil {
		t.Fatal("Apply without AllowAhead accepted a database ahead of it: the README's reason is gone")
	}
}
