package db

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// A multi-host URL (failover) and a read URL are accepted, keep their
// target_session_attrs, and never print their passwords.
func TestConfigMultiHostAndReadURL(t *testing.T) {
	cfg, err := configFrom(lookupFrom(map[string]string{
		"DATABASE_URL":             "postgres://app:s3cret@10.0.0.1:5432,10.0.0.2:5432/leadmetrics?target_session_attrs=read-write",
		"DATABASE_READ_URL":        "postgres://app:r3ad@10.0.0.2:5432,10.0.0.3:5432/leadmetrics",
		"DATABASE_MAX_REPLICA_LAG": "2s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxReplicaLag != 2*time.Second || cfg.ReadURL == "" {
		t.Fatalf("cfg = %v", cfg)
	}
	dsn, err := cfg.DSN()
	if err != nil || !strings.Contains(dsn, "10.0.0.1:5432,10.0.0.2:5432") || !strings.Contains(dsn, "target_session_attrs=read-write") {
		t.Fatalf("DSN of a multi-host URL: %v %s", err, RedactURL(dsn))
	}
	if got := readURL(cfg.ReadURL); !strings.Contains(got, "target_session_attrs=prefer-standby") {
		t.Fatalf("read URL without target_session_attrs: %s", RedactURL(got))
	}
	for _, s := range []string{cfg.String(), cfg.GoString()} {
		if strings.Contains(s, "s3cret") || strings.Contains(s, "r3ad") {
			t.Fatalf("a password is printed: %s", s)
		}
	}
	if DefaultConfig().MaxReplicaLag <= 0 {
		t.Fatal("no default replica lag bound")
	}
	for name, env := range map[string]map[string]string{
		"DATABASE_MAX_REPLICA_LAG": {"DATABASE_MAX_REPLICA_LAG": "-1s"},
		"DATABASE_READ_URL":        {"DATABASE_READ_URL": "mysql://x"},
	} {
		_, err := configFrom(lookupFrom(env))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Variable != name {
			t.Errorf("%v: error %v, want a ConfigError naming %s", env, err, name)
		}
	}
}

func TestIsWrite(t *testing.T) {
	for q, want := range map[string]bool{
		`INSERT INTO "tenants" ("id") VALUES ($1) RETURNING "id"`: true,
		` UPDATE "users" SET "name" = $1`:                         true,
		`delete from x`:                                           true,
		`SELECT "id" FROM "tenants"`:                              false,
		`WITH t AS (SELECT 1) SELECT * FROM t`:                    false,
	} {
		if isWrite(q) != want {
			t.Errorf("isWrite(%q) = %v, want %v", q, !want, want)
		}
	}
}
