package main

import (
	"context"
	"strings"
	"testing"

	"github.com/leadmetrics/db/internal/scaleload"
	"github.com/leadmetrics/db/internal/testing/suitedb"
)

func TestRetentionCommand(t *testing.T) {
	url := suitedb.URL(t)
	sqlDB := suitedb.Open(t, url)
	if _, err := scaleload.Load(context.Background(), sqlDB, scaleload.Spec{Tenants: 5, Fraction: 0.0001}); err != nil {
		t.Fatal(err)
	}
	var old int
	if err := sqlDB.QueryRow(`SELECT count(*) FROM audit_logs WHERE created_at < now() - interval '100 days'`).Scan(&old); err != nil || old == 0 {
		t.Fatalf("fixture: %d old audit rows, %v", old, err)
	}
	datactl(t, "retention", "-url", url).Want(t, 2) // no table given
	datactl(t, "retention", "-url", url, "-audit", "soon").Want(t, 2)
	r := datactl(t, "retention", "-url", url, "-audit", "100d", "-dry-run")
	r.Want(t, 0)
	if !strings.Contains(r.Stdout, "audit_logs: would purge") {
		t.Fatalf("dry run output:\n%s", r.Stdout)
	}
	r = datactl(t, "retention", "-url", url, "-audit", "100d", "-batch", "50")
	r.Want(t, 0)
	var left int
	if err := sqlDB.QueryRow(`SELECT count(*) FROM audit_logs WHERE created_at < now() - interval '100 days'`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("after retention: %d old audit rows left, %v\n%s", left, err, r.Stdout)
	}
}
