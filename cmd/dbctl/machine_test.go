package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadmetrics/db/internal/testing/suitedb"
)

// decodeJSON parses the one JSON document a command printed.
func decodeJSON(t *testing.T, r result, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Stdout), v); err != nil {
		t.Fatalf("not one JSON document (%v):\n%s\nstderr: %s", err, r.Stdout, r.Stderr)
	}
}

// TestJSONOutput: status, lint, review, history and doctor print one JSON
// document with --format json (or --json), and exit as in text mode
// (finding 7).
func TestJSONOutput(t *testing.T) {
	url := suitedb.EmptyURL(t)
	var st struct {
		Target, Current, Next string
		Pending               int
		Files                 []struct{ Version, State string }
	}
	r := dbctl(t, "migrate", "status", "--url", url, "--format", "json")
	r.Want(t, 0)
	if decodeJSON(t, r, &st); st.Current != "none" || st.Pending == 0 || len(st.Files) != st.Pending || st.Files[0].State != "pending" || strings.Contains(st.Target, "pgtdbpass") {
		t.Fatalf("status: %+v", st)
	}
	dbctl(t, "migrate", "status", "--url", url, "--json", "--check").Want(t, 1)

	var lintDoc struct {
		Errors, Warnings int
		Files            []struct {
			Name     string
			Findings []struct {
				Line           int
				Code, Severity string
			}
			Changes []struct{ Change, Object string }
		}
	}
	devURL := suitedb.EmptyURL(t)
	r = dbctl(t, "migrate", "lint", "--dir", "internal/migrate/lint/testdata/lint", "--latest", "1", "--dev-url", devURL, "--json")
	r.Want(t, 0)
	decodeJSON(t, r, &lintDoc)
	r = dbctl(t, "migrate", "lint", "--dir", "internal/migrate/lint/testdata/lint", "--latest", "9", "--dev-url", devURL, "--format", "json")
	r.Want(t, 1) // the drops are errors, as in text
	if decodeJSON(t, r, &lintDoc); lintDoc.Errors == 0 || lintDoc.Files[0].Findings[0].Code != "DS103" || lintDoc.Files[0].Findings[0].Line != 2 {
		t.Fatalf("lint: %+v", lintDoc)
	}
	r = dbctl(t, "migrate", "review", "--dir", "internal/migrate/lint/testdata/lint", "--latest", "9", "--dev-url", devURL, "--format", "json")
	r.Want(t, 0)
	if decodeJSON(t, r, &lintDoc); len(lintDoc.Files[0].Changes) == 0 || lintDoc.Files[0].Changes[0].Change != "dropped column" {
		t.Fatalf("review: %+v", lintDoc)
	}

	var hist struct {
		AppendOnly bool `json:"append_only"`
		How        string
	}
	r = dbctl(t, "migrate", "history", "--format", "json")
	r.Want(t, 0)
	if decodeJSON(t, r, &hist); !hist.AppendOnly || hist.How == "" {
		t.Fatalf("history: %+v", hist)
	}

	var doc struct {
		Connected  bool
		Migrations string
		Pending    []string
	}
	r = dbctl(t, "doctor", "--url", url, "--format", "json")
	r.Want(t, 0)
	if decodeJSON(t, r, &doc); !doc.Connected || doc.Migrations != "behind" || len(doc.Pending) == 0 {
		t.Fatalf("doctor: %+v", doc)
	}
	r = dbctl(t, "doctor", "--url", "postgres://postgres@127.0.0.1:1/nothing?connect_timeout=2", "--json")
	r.Want(t, 1)
	if decodeJSON(t, r, &doc); doc.Connected {
		t.Fatalf("doctor of nothing: %+v", doc)
	}
	dbctl(t, "migrate", "status", "--format", "yaml").Want(t, 2)
}

// TestApplyDryRun: --dry-run prints the SQL of each pending file, in
// order, and applies nothing; --to-version limits it as it limits apply.
func TestApplyDryRun(t *testing.T) {
	url := suitedb.EmptyURL(t)
	r := dbctl(t, "migrate", "apply", "--dry-run", "--url", url)
	r.Want(t, 0)
	first, _ := os.ReadFile(filepath.Join(repoRoot, "migrations", "20261127120701_init.sql"))
	if !strings.Contains(r.Stdout, "-- dbctl: 20261127120701_init.sql\n"+string(first)) || !strings.Contains(r.Stdout, "20261130160141_ledger_llm_call_unenforced.sql") {
		t.Fatalf("dry run:\n%.2000s", r.Stdout)
	}
	if n := tableCount(t, url); n != 0 {
		t.Fatalf("a dry run created %d tables", n)
	}
	r = dbctl(t, "migrate", "apply", "--dry-run", "--to-version", "20261127121402", "--url", url)
	if r.Want(t, 0); strings.Count(r.Stdout, "-- dbctl: ") != 2 || !strings.Contains(r.Stdout, "2 file(s) not applied") {
		t.Fatalf("dry run to a version:\n%s", r.Stdout)
	}
	dbctl(t, "migrate", "apply", "--url", url, "2").Want(t, 0)
	r = dbctl(t, "migrate", "apply", "--dry-run", "--url", url)
	if r.Want(t, 0); strings.Contains(r.Stdout, "20261127121402_ledger_seq.sql") || !strings.Contains(r.Stdout, "20261130125741_currency_iso4217.sql") {
		t.Fatalf("dry run after two applied:\n%.500s", r.Stdout)
	}
}

// TestChecksumErrorsNameTheFile: an edited or an added file is named by
// every command that checks atlas.sum.
func TestChecksumErrorsNameTheFile(t *testing.T) {
	dir := copyMigrations(t)
	edited := filepath.Join(dir, "20261130140136_update_heavy_fillfactor.sql")
	b, _ := os.ReadFile(edited)
	os.WriteFile(edited, append(b, "-- an edit\n"...), 0o644)
	url := suitedb.EmptyURL(t)
	for _, args := range [][]string{
		{"migrate", "validate", "--dir", dir},
		{"migrate", "status", "--dir", dir, "--url", url},
		{"migrate", "apply", "--dir", dir, "--url", url},
		{"migrate", "lint", "--dir", dir, "--latest", "1", "--dev-url", url},
	} {
		r := dbctl(t, args...)
		r.Want(t, 1, args...)
		if !strings.Contains(r.Stderr, "20261130140136_update_heavy_fillfactor.sql was edited") {
			t.Errorf("dbctl %q: %s", args, r.Stderr)
		}
	}
	os.WriteFile(edited, b, 0o644)
	os.WriteFile(filepath.Join(dir, "20261130140137_extra.sql"), []byte("SELECT 1;\n"), 0o644)
	if r := dbctl(t, "migrate", "validate", "--dir", dir); !strings.Contains(r.Stderr, "20261130140137_extra.sql was added") {
		t.Errorf("added file: %s", r.Stderr)
	}
}

// TestTyposSuggest: a mistyped command or flag gets "did you mean" and a
// short usage (a few lines, not the whole help), exit 2.
func TestTyposSuggest(t *testing.T) {
	for args, want := range map[string]string{
		"migrate stauts":          `did you mean "dbctl migrate status"?`,
		"mgirate status":          `did you mean "dbctl migrate"?`,
		"migrate aply":            `did you mean "dbctl migrate apply"?`,
		"doctr":                   `did you mean "dbctl doctor"?`,
		"migrate status --jsno":   "did you mean --json?",
		"migrate apply --dry-rnu": "did you mean --dry-run?",
		"migrate lint --lates 1":  "did you mean --latest?",
		"migrate frobnicate":      "Usage: dbctl migrate {dev|diff|new|apply|status|",
		"credentials rotate":      "go run ./cmd/datactl credentials rotate",
	} {
		r := dbctl(t, strings.Fields(args)...)
		r.Want(t, 2, args)
		if !strings.Contains(r.Stderr, want) || strings.Count(r.Stderr, "\n") > 3 || r.Stdout != "" {
			t.Errorf("dbctl %s: stderr (%d lines):\n%s\nwant %q", args, strings.Count(r.Stderr, "\n"), r.Stderr, want)
		}
	}
}
