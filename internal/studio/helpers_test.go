package studio_test

import (
	"context"
	"database/sql"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/internal/scaleload"
	"github.com/leadmetrics/db/internal/studio"
	"github.com/leadmetrics/db/internal/testing/recorder"
	"github.com/leadmetrics/db/internal/testing/suitedb"
)

// fixture is a migrated database with a small skewed data set (tenant
// t000001 the largest) and the client the studio reads through, its
// statements recorded.
type fixture struct {
	URL string
	SQL *sql.DB
	C   *ent.Client
	rec *recorder.Driver
}

func newFixture(t testing.TB, spec scaleload.Spec) *fixture {
	t.Helper()
	u := suitedb.URL(t)
	sqlDB := suitedb.Open(t, u)
	if _, err := scaleload.Load(context.Background(), sqlDB, spec); err != nil {
		t.Fatal(err)
	}
	return fixtureOn(t, u, sqlDB)
}

func fixtureOn(t testing.TB, u string, sqlDB *sql.DB) *fixture {
	rec := recorder.Open(sqlDB)
	return &fixture{URL: u, SQL: sqlDB, C: ent.NewClient(ent.Driver(rec)), rec: rec}
}

// running is a studio served on a loopback port.
type running struct {
	*studio.Server
	URL string // http://127.0.0.1:port
	Log *strings.Builder
}

func serve(t testing.TB, f *fixture, cfg studio.Config) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := &strings.Builder{}
	cfg.Client, cfg.SQL, cfg.Addr, cfg.Log = f.C, f.SQL, ln.Addr().String(), &syncWriter{w: log}
	if cfg.Actor == "" {
		cfg.Actor = "tester"
	}
	s, err := studio.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(s)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() { srv.Close(); s.Close() })
	return &running{Server: s, URL: "http://" + ln.Addr().String(), Log: log}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// signedIn is an HTTP client holding the studio's cookie, not following
// redirects.
func signedIn(t testing.TB, r *running) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(r.URL + "/?token=" + url.QueryEscape(r.Token()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("token exchange: %d", resp.StatusCode)
	}
	return c
}

func get(t testing.TB, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// post sends a form from origin ("" for none).
func post(t testing.TB, c *http.Client, u, origin string, form url.Values) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
