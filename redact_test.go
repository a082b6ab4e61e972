package db

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const unitPW = "Pw-7q1-unit-s3cret"

func TestRedactURL(t *testing.T) {
	cases := map[string]string{
		"postgres://app:" + unitPW + "@db:5432/x":                     "postgres://app:xxxxx@db:5432/x",
		"postgres://app@db/x?password=" + unitPW + "&sslmode=disable": "postgres://app@db/x?password=xxxxx&sslmode=disable",
		"postgresql://db/x?PASSWORD=" + unitPW:                        "postgresql://db/x?PASSWORD=xxxxx",
		"postgres://db/x?sslpassword=" + unitPW:                       "postgres://db/x?sslpassword=xxxxx",
		"host=db user=app password=" + unitPW + " dbname=x":           "host=db user=app password=xxxxx dbname=x",
		"host=db password='" + unitPW + ` with \' quote' dbname=x`:    "host=db password=xxxxx dbname=x",
		"postgres://app:" + unitPW + "@db:bad port/x":                 "(unparsable database URL)",
		"postgres://app@127.0.0.1:5432/leadmetrics?sslmode=disable":   "postgres://app@127.0.0.1:5432/leadmetrics?sslmode=disable",
	}
	for in, want := range cases {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScrubFindsEverySpelling(t *testing.T) {
	for _, cs := range []string{
		"postgres://app:" + unitPW + "@db/x",
		"postgres://app@db/x?password=" + unitPW,
		"postgres://app:" + unitPW + "@db:bad port/x?x=1",
		"host=db password=" + unitPW,
		"host=db password='" + unitPW + "'",
	} {
		msg := fmt.Sprintf("failed: %s / %q / %s", unitPW, unitPW, cs)
		if got := Scrub(msg, cs); strings.Contains(got, unitPW) {
			t.Errorf("Scrub with %q left the password: %s", cs, got)
		}
	}
	// Percent-encoded in the URL, decoded in a driver's message.
	enc := "postgres://app:p%40ss%2Fw0rd-unit@db/x"
	if got := Scrub("auth failed for p@ss/w0rd-unit", enc); strings.Contains(got, "p@ss/w0rd-unit") {
		t.Errorf("decoded password survived: %s", got)
	}
}

func TestConfigNeverPrintsThePassword(t *testing.T) {
	for _, u := range []string{
		"postgres://app:" + unitPW + "@db:5432/x",
		"postgres://app@db:5432/x?password=" + unitPW,
		"postgres://app:" + unitPW + "@db:bad port/x",
	} {
		cfg := DefaultConfig()
		cfg.URL = u
		var outputs []string
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			outputs = append(outputs, fmt.Sprintf(verb, cfg), fmt.Sprintf(verb, &cfg), fmt.Sprintf(verb, []Config{cfg}))
		}
		outputs = append(outputs, cfg.Redacted(), cfg.String(), cfg.GoString())
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "cfg", cfg, "ptr", &cfg)
		slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "cfg", cfg, "ptr", &cfg)
		outputs = append(outputs, buf.String())
		js, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, string(js))
		for _, out := range outputs {
			if strings.Contains(out, unitPW) {
				t.Errorf("URL %q: output leaks the password: %s", u, out)
			}
		}
		// The output is still useful: it names the host (an unparsable URL
		// is hidden whole).
		if !strings.Contains(cfg.String(), "@db") && !strings.Contains(u, "bad port") || !strings.Contains(buf.String(), "pool_max") {
			t.Errorf("redacted output lost the rest: %s / %s", cfg.String(), buf.String())
		}
	}
}

func TestConfigErrorsHideQueryPasswords(t *testing.T) {
	for _, env := range []map[string]string{
		{"DATABASE_URL": "mysql://h/db?password=" + unitPW},
		{"DATABASE_URL": "postgres://h:bad port/db?password=" + unitPW},
		{"DATABASE_URL": "host=h password=" + unitPW},
		{"DATABASE_URL": "postgres://h/db?password=" + unitPW + "&sslmode=disable", "DATABASE_SSL": "true"},
	} {
		_, err := configFrom(lookupFrom(env))
		if !errors.Is(err, ErrConfig) {
			t.Errorf("%v: got %v, want ErrConfig", env["DATABASE_URL"], err)
		}
		if err != nil && strings.Contains(err.Error(), unitPW) {
			t.Errorf("error leaks the password: %v", err)
		}
	}
}

func TestOpenErrorHidesQueryPassword(t *testing.T) {
	for _, driver := range []string{DriverPgx, DriverPQ} {
		for _, u := range []string{
			"postgres://app@127.0.0.1:1/leadmetrics?password=" + unitPW,
			"postgres://app:" + unitPW + "@127.0.0.1:1/leadmetrics",
		} {
			cfg := DefaultConfig()
			cfg.URL, cfg.Driver = u, driver
			_, err := OpenDB(context.Background(), cfg)
			if err == nil {
				t.Fatalf("%s: open of a closed port succeeded", driver)
			}
			if strings.Contains(err.Error(), unitPW) {
				t.Fatalf("%s: error leaks the password: %v", driver, err)
			}
		}
	}
}

func TestRedactErrorKeepsTheChain(t *testing.T) {
	cause := errors.New("dial postgres://u:" + unitPW + "@h/x failed")
	err := RedactError(fmt.Errorf("wrap: %w", cause), "postgres://u:"+unitPW+"@h/x")
	if strings.Contains(err.Error(), unitPW) || !errors.Is(err, cause) {
		t.Fatalf("RedactError: %v (Is cause: %t)", err, errors.Is(err, cause))
	}
	if RedactError(nil, "x") != nil {
		t.Fatal("RedactError(nil) is not nil")
	}
}
