package db

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func lookupFrom(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := configFrom(lookupFrom(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg != DefaultConfig() || cfg.URL != LocalURL || cfg.PoolMin != 2 || cfg.PoolMax != 20 || cfg.Driver != DriverPgx {
		t.Fatalf("defaults = %+v", cfg)
	}
}

func TestConfigFromEnv(t *testing.T) {
	cfg, err := configFrom(lookupFrom(map[string]string{
		"DATABASE_URL": "postgresql://app:s3cret@db.internal:6432/leadmetrics", "DATABASE_POOL_MIN": "4",
		"DATABASE_POOL_MAX": "40", "DATABASE_SSL": "true", "DATABASE_DRIVER": "postgres",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PoolMin != 4 || cfg.PoolMax != 40 || !cfg.SSL || cfg.Driver != DriverPQ {
		t.Fatalf("cfg = %+v", cfg)
	}
	dsn, _ := cfg.DSN()
	if !strings.Contains(dsn, "sslmode=require") {
		t.Fatalf("DATABASE_SSL=true did not require TLS: %s", RedactURL(dsn))
	}
	if strings.Contains(cfg.Redacted(), "s3cret") {
		t.Fatalf("Redacted leaks the password: %s", cfg.Redacted())
	}
}

func TestConfigErrorsNameTheVariableAndHideThePassword(t *testing.T) {
	const pw = "hunter2-very-secret"
	cases := []struct {
		env      map[string]string
		variable string
	}{
		{map[string]string{"DATABASE_URL": "mysql://u:" + pw + "@h/db"}, "DATABASE_URL"},
		{map[string]string{"DATABASE_URL": "postgres://u:" + pw + "@h:bad port/db"}, "DATABASE_URL"},
		{map[string]string{"DATABASE_URL": "postgres://u:" + pw + "@h/db", "DATABASE_POOL_MIN": "two"}, "DATABASE_POOL_MIN"},
		{map[string]string{"DATABASE_POOL_MAX": "0"}, "DATABASE_POOL_MAX"},
		{map[string]string{"DATABASE_POOL_MIN": "-1"}, "DATABASE_POOL_MIN"},
		{map[string]string{"DATABASE_POOL_MIN": "30", "DATABASE_POOL_MAX": "10"}, "DATABASE_POOL_MIN"},
		{map[string]string{"DATABASE_SSL": "yes please"}, "DATABASE_SSL"},
		{map[string]string{"DATABASE_DRIVER": "mysql"}, "DATABASE_DRIVER"},
		{map[string]string{"DATABASE_STATEMENT_TIMEOUT": "forever"}, "DATABASE_STATEMENT_TIMEOUT"},
		{map[string]string{"DATABASE_POOLER": "pgpool"}, "DATABASE_POOLER"},
		{map[string]string{"DATABASE_POOLER": "pgbouncer", "DATABASE_DRIVER": "postgres"}, "DATABASE_POOLER"},
		{map[string]string{"DATABASE_POOLER": "pgbouncer", "DATABASE_STATEMENT_TIMEOUT": "5s"}, "DATABASE_STATEMENT_TIMEOUT"},
		{map[string]string{"DATABASE_SLOW_QUERY_MS": "-1"}, "DATABASE_SLOW_QUERY_MS"},
		{map[string]string{"DATABASE_TRACING": "maybe"}, "DATABASE_TRACING"},
		{map[string]string{"DATABASE_TRACING": "true", "DATABASE_DRIVER": "postgres"}, "DATABASE_DRIVER"},
		{map[string]string{"DATABASE_IDLE_TX_TIMEOUT": "-5s"}, "DATABASE_IDLE_TX_TIMEOUT"},
		{map[string]string{"DATABASE_APPLICATION_NAME": "caf\u00e9"}, "DATABASE_APPLICATION_NAME"},
		{map[string]string{"DATABASE_APPLICATION_NAME": strings.Repeat("a", 64)}, "DATABASE_APPLICATION_NAME"},
		{map[string]string{"DATABASE_URL": "postgres://u:" + pw + "@h/db?sslmode=disable", "DATABASE_SSL": "true"}, "DATABASE_SSL"},
	}
	for _, c := range cases {
		_, err := configFrom(lookupFrom(c.env))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Variable != c.variable || !errors.Is(err, ErrConfig) {
			t.Errorf("%v: got %v, want a ConfigError for %s", c.env, err, c.variable)
			continue
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("%v: error leaks the password: %v", c.env, err)
		}
	}
}

func TestOpenErrorHidesPassword(t *testing.T) {
	const pw = "hunter2-very-secret"
	for _, driver := range []string{DriverPgx, DriverPQ} {
		cfg := DefaultConfig()
		// Port 1 on loopback refuses at once: a connection error that would
		// quote the DSN if anything did.
		cfg.URL, cfg.Driver = "postgres://app:"+pw+"@127.0.0.1:1/leadmetrics?connect_timeout=2", driver
		_, err := OpenDB(context.Background(), cfg)
		if err == nil {
			t.Fatalf("%s: open of a closed port succeeded", driver)
		}
		if strings.Contains(err.Error(), pw) {
			t.Fatalf("%s: error leaks the password: %v", driver, err)
		}
	}
}

func TestConfigSessionSettingsFromEnv(t *testing.T) {
	cfg, err := configFrom(lookupFrom(map[string]string{
		"DATABASE_STATEMENT_TIMEOUT": "2500ms", "DATABASE_IDLE_TX_TIMEOUT": "30", "DATABASE_APPLICATION_NAME": "billing-worker",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.StatementTimeout != 2500*time.Millisecond || cfg.IdleTxTimeout != 30*time.Second || cfg.ApplicationName != "billing-worker" {
		t.Fatalf("cfg = %+v", cfg)
	}
	dsn, _ := cfg.DSN()
	for _, want := range []string{"statement_timeout=2500", "idle_in_transaction_session_timeout=30000", "application_name=billing-worker"} {
		if !strings.Contains(dsn, want) {
			t.Errorf("DSN %s lacks %s", dsn, want)
		}
	}
	// The URL's own parameter wins.
	cfg.URL += "&statement_timeout=100"
	if dsn, _ := cfg.DSN(); !strings.Contains(dsn, "statement_timeout=100&") && !strings.HasSuffix(dsn, "statement_timeout=100") {
		t.Errorf("URL's statement_timeout lost: %s", dsn)
	}
}
