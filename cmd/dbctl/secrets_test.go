package main

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadmetrics/db/internal/testing/clitest"
	"github.com/leadmetrics/db/internal/testing/suitedb"
)

// passwordIn puts pw into raw as the userinfo password or as a password=
// query parameter.
func passwordIn(t *testing.T, raw, pw string, inQuery bool) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if inQuery {
		q := u.Query()
		q.Set("password", pw)
		u.RawQuery = q.Encode()
	} else {
		u.User = url.UserPassword(u.User.Username(), pw)
	}
	return u.String()
}

// TestDBCtlNeverPrintsThePassword runs the built binary's commands with URLs
// that carry a unique password (in the userinfo, in the query, in a URL
// that does not parse, in a key=value string; reachable and not) and scans
// every line they print, stdout and stderr, for it.
func TestDBCtlNeverPrintsThePassword(t *testing.T) {
	pw := "Pw-" + strings.ReplaceAll(t.Name(), "/", "") + "-" + time.Now().Format("150405.000000")
	live := suitedb.URL(t)
	missing := strings.Replace(live, live[strings.LastIndex(live, "/")+1:strings.Index(live, "?")], "no_such_db_for_secrets", 1)
	liveURLs := []string{passwordIn(t, live, pw, false), passwordIn(t, live, pw, true)}
	urls := []string{
		liveURLs[0], liveURLs[1],
		passwordIn(t, missing, pw, false),
		passwordIn(t, missing, pw, true),
		"postgres://app:" + pw + "@127.0.0.1:1/leadmetrics",
		"postgres://app@127.0.0.1:1/leadmetrics?password=" + pw,
		"postgres://app:" + pw + "@127.0.0.1:bad port/leadmetrics",
		"postgres://app@127.0.0.1:bad port/leadmetrics?sslmode=disable&password=" + pw,
		"host=127.0.0.1 port=1 user=app password=" + pw,
	}
	commands := [][]string{
		{"migrate", "status"},
		{"migrate", "apply"},
		{"credentials", "rotate"},
		{"demo"},
	}
	ran := 0
	key := "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	for _, u := range urls {
		for _, args := range commands {
			if args[0] == "demo" && !slices.Contains(liveURLs, u) && strings.Contains(u, ":5432/") {
				continue // the demo would create the missing database
			}
			for _, viaFlag := range []bool{false, true} {
				env := []string{"DATABASE_URL=" + u, "CREDENTIALS_KEYS=" + key}
				argv := args
				if viaFlag {
					env = []string{"DATABASE_URL=", "CREDENTIALS_KEYS=" + key}
					argv = append(append([]string{}, args...), "--url", u)
				}
				r := clitest.Run(t, repoRoot, env, dbctlBin, argv...) // most runs fail on purpose
				out := r.Stdout + r.Stderr
				ran++
				for _, line := range strings.Split(out, "\n") {
					if strings.Contains(line, pw) {
						t.Errorf("dbctl %s (url %s, flag %t) printed the password:\n%s", strings.Join(args, " "), u[:12], viaFlag, line)
					}
				}
				if strings.TrimSpace(out) == "" {
					t.Errorf("dbctl %s printed nothing: the scan proves nothing", strings.Join(argv, " "))
				}
			}
		}
	}
	t.Logf("%d runs scanned", ran)
}
