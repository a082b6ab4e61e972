package studio_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/leadmetrics/db/internal/scaleload"
	"github.com/leadmetrics/db/internal/studio"
	"github.com/leadmetrics/db/internal/testing/recorder"
	"github.com/leadmetrics/db/internal/testing/suitedb"
)

// TestPagesReadBoundedBuffers: every page kind reads about as many buffers
// for the largest tenant of a skewed data set (rank 1, 100 times rank
// 100's rows) as for a small one: no statement scans a tenant's rows. Each
// statement a page ran through the client is run again under EXPLAIN
// (ANALYZE, BUFFERS); its executor's shared buffers (hit + read) are
// summed per page. Every statement stays under 64 buffers, a page under 20
// statements (a filter's scan makes up to 5 windows). STUDIO_SCALE_URL names a database cmd/scaleload loaded
// (docs/STUDIO.md's figures) instead of the small one loaded here; with
// -v the table of buffers and latencies is printed.
func TestPagesReadBoundedBuffers(t *testing.T) {
	var f *fixture
	tenants := 100
	if u := os.Getenv("STUDIO_SCALE_URL"); u != "" {
		f = fixtureOn(t, u, suitedb.Open(t, u))
		if err := f.SQL.QueryRow(`SELECT count(*) FROM tenants`).Scan(&tenants); err != nil {
			t.Fatal(err)
		}
	} else {
		f = newFixture(t, scaleload.Spec{Tenants: tenants, Fraction: 0.004})
	}
	r := serve(t, f, studio.Config{})
	c := signedIn(t, r)
	ranks := []int{1, 10, 100}
	if tenants >= 1000 {
		ranks = append(ranks, 1000)
	}
	next := regexp.MustCompile(`id="next" href="([^"]+)"`)
	type kind struct {
		name string
		url  func(tenant string) string
	}
	one := func(q string, args ...any) string {
		var s string
		if err := f.SQL.QueryRow(q, args...).Scan(&s); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return s
	}
	following := func(u string) string {
		_, body := get(t, c, r.URL+u)
		m := next.FindStringSubmatch(body)
		if m == nil {
			return u // a one-page list: its first page again
		}
		return html.UnescapeString(m[1])
	}
	kinds := []kind{
		{"tenants", func(string) string { return "/" }},
		{"tenant (entities, 19 probes)", func(tn string) string { return "/t/" + tn + "/" }},
		{"list activities", func(tn string) string { return "/t/" + tn + "/e/activities" }},
		{"list activities, next page", func(tn string) string { return following("/t/" + tn + "/e/activities") }},
		{"list activities, oldest first", func(tn string) string { return "/t/" + tn + "/e/activities?dir=asc" }},
		{"list activities, status filter", func(tn string) string { return "/t/" + tn + "/e/activities?f=status&v=completed" }},
		{"list activities, with deleted", func(tn string) string { return "/t/" + tn + "/e/activities?deleted=1" }},
		{"list llm_call_logs by created_at", func(tn string) string { return "/t/" + tn + "/e/llm_call_logs?sort=created_at" }},
		{"list deliverables of an activity", func(tn string) string {
			return "/t/" + tn + "/e/deliverables?f=activity_id&v=" + one(`SELECT activity_id FROM deliverables WHERE tenant_id = $1 LIMIT 1`, tn)
		}},
		{"list dispatch_logs, status filter (rare value)", func(tn string) string {
			return "/t/" + tn + "/e/dispatch_logs?f=status&v=failed"
		}},
		{"row (activity)", func(tn string) string {
			return "/t/" + tn + "/e/activities/" + one(`SELECT id FROM activities WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1`, tn)
		}},
		{"ledger", func(tn string) string { return "/t/" + tn + "/ledger" }},
	}
	const samples = 15
	var report strings.Builder
	fmt.Fprintf(&report, "| page | buffers by tenant rank %v | statements | p50 | p95 (rank 1, %d requests) |\n|---|---|---|---|---|\n", ranks, samples)
	for _, k := range kinds {
		var bufs, stmts []int
		for _, rank := range ranks {
			u := k.url(scaleload.TenantID(rank))
			f.rec.Take()
			if code, body := get(t, c, r.URL+u); code != http.StatusOK {
				t.Fatalf("%s %s: %d %s", k.name, u, code, body)
			}
			qs := f.rec.Take()
			stmts = append(stmts, len(qs))
			total := 0
			for _, q := range qs {
				n := buffers(t, f, q)
				// A statement of a bounded page reads an index path and a
				// page of rows; a tenant scan of rank 1 reads thousands.
				if n > 64 {
					t.Errorf("%s (rank %d): %d buffers in one statement:\n%s", k.name, rank, n, q.SQL)
				}
				total += n
			}
			bufs = append(bufs, total)
		}
		small := bufs[len(bufs)-1]
		if stmts[0] == stmts[len(stmts)-1] && bufs[0] > 2*small+4*stmts[0] || stmts[0] > 20 {
			t.Errorf("%s: the largest tenant reads %d buffers in %d statements, the small one %d: not bounded", k.name, bufs[0], stmts[0], small)
		}
		var lat []time.Duration
		u := k.url(scaleload.TenantID(1))
		for range samples {
			start := time.Now()
			get(t, c, r.URL+u)
			lat = append(lat, time.Since(start))
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		fmt.Fprintf(&report, "| %s | %v | %v | %.1f ms | %.1f ms |\n", k.name, bufs, stmts,
			ms(lat[len(lat)/2]), ms(lat[(len(lat)*95+99)/100-1]))
	}
	t.Logf("%d tenants\n%s", tenants, report.String())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// buffers runs q under EXPLAIN (ANALYZE, BUFFERS) and returns its
// executor's shared buffers, hit and read (planning's are not the page's).
func buffers(t testing.TB, f *fixture, q recorder.Statement) int {
	t.Helper()
	var out string
	if err := f.SQL.QueryRow("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "+q.SQL, q.Args...).Scan(&out); err != nil {
		t.Fatalf("explain %s: %v", q.SQL, err)
	}
	var plans []struct {
		Plan struct {
			Hit  int `json:"Shared Hit Blocks"`
			Read int `json:"Shared Read Blocks"`
		}
	}
	if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) != 1 {
		t.Fatalf("explain output %s: %v", out, err)
	}
	return plans[0].Plan.Hit + plans[0].Plan.Read
}
