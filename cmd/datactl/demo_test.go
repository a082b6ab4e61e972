package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/leadmetrics/db/internal/cli"
	"github.com/leadmetrics/db/internal/testing/suitedb"
)

// snapshot fingerprints every row of every public table.
func snapshot(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, table := range suitedb.Tables(t, db) {
		var sum string
		q := `SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t.id)), '') FROM "` + table + `" t`
		if err := db.QueryRow(q).Scan(&sum); err != nil {
			t.Fatal(err)
		}
		out[table] = sum
	}
	return out
}

func TestDemoIsIdempotent(t *testing.T) {
	url := suitedb.EmptyURL(t)
	var first bytes.Buffer
	if err := run(context.Background(), []string{"demo", "--url", url}, &first); err != nil {
		t.Fatalf("first demo: %v\n%s", err, first.String())
	}
	db := suitedb.Open(t, url)
	before := snapshot(t, db)
	if len(before) != 19 {
		t.Fatalf("%d tables after demo, want 19", len(before))
	}
	for _, table := range []string{"tenants", "users", "activities", "plans"} {
		if strings.HasPrefix(before[table], "0:") {
			t.Errorf("demo wrote no %s", table)
		}
	}
	for _, slug := range []string{"acme-bakery", "globex-fitness", "initech-legal"} {
		if !strings.Contains(first.String(), slug) {
			t.Errorf("report does not mention %s:\n%s", slug, first.String())
		}
	}
	var second bytes.Buffer
	if err := run(context.Background(), []string{"demo", "--url", url}, &second); err != nil {
		t.Fatalf("second demo: %v\n%s", err, second.String())
	}
	after := snapshot(t, db)
	for table, sum := range before {
		if after[table] != sum {
			t.Errorf("second demo changed %s: %s -> %s", table, sum, after[table])
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}, {"credentials"}, {"credentials", "frobnicate"}, {"demo", "x"}, {"migrate", "status"}, {"retention", "--audit", "soon"}} {
		err := run(context.Background(), args, &bytes.Buffer{})
		var ue cli.UsageError
		if !errors.As(err, &ue) {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
	}
}
