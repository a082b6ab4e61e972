package studio_test

import (
	"html"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/leadmetrics/db/internal/scaleload"
	"github.com/leadmetrics/db/internal/studio"
)

// TestFilteredPagesVisitEveryMatchOnce: a filter on a column many rows
// share (a status) is a scan in windows of the list's order; walking its
// pages visits every matching row once, in order, both for a frequent
// value and for a rare one whose matches lie windows apart (pages that
// say how many rows they read); a key's filter goes through its index.
func TestFilteredPagesVisitEveryMatchOnce(t *testing.T) {
	f := newFixture(t, scaleload.Spec{Tenants: 1, Fraction: 0.0015})
	t1 := scaleload.TenantID(1)
	// Rare rows, at both ends of the tenant's id order.
	if _, err := f.SQL.Exec(`UPDATE activities SET status = 'cancelled' WHERE id IN
		((SELECT min(id) FROM activities WHERE tenant_id = $1), (SELECT max(id) FROM activities WHERE tenant_id = $1))`, t1); err != nil {
		t.Fatal(err)
	}
	r := serve(t, f, studio.Config{PageSize: 40})
	c := signedIn(t, r)
	ids := regexp.MustCompile(`class="row-link" href="[^"]*/([^/"?]+)"`)
	next := regexp.MustCompile(`id="next" href="([^"]+)"`)
	walk := func(u string) (got []string, scannedPages int) {
		for u != "" {
			code, body := get(t, c, r.URL+u)
			if code != http.StatusOK {
				t.Fatalf("%s: %d", u, code)
			}
			for _, m := range ids.FindAllStringSubmatch(body, -1) {
				got = append(got, m[1])
			}
			if strings.Contains(body, `id="scanned"`) {
				scannedPages++
			}
			u = ""
			if m := next.FindStringSubmatch(body); m != nil {
				u = html.UnescapeString(m[1])
			}
		}
		return got, scannedPages
	}
	var ref string
	if err := f.SQL.QueryRow(`SELECT ref_id FROM activities WHERE tenant_id = $1 ORDER BY id LIMIT 1 OFFSET 7`, t1).Scan(&ref); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ col, value string }{{"status", "failed"}, {"status", "cancelled"}, {"ref_id", ref}} {
		var want []string
		rows, err := f.SQL.Query(`SELECT id FROM activities WHERE tenant_id = $1 AND deleted_at IS NULL
			AND `+c.col+` = $2 ORDER BY id DESC`, t1, c.value)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			rows.Scan(&id)
			want = append(want, id)
		}
		rows.Close()
		got, scanned := walk("/t/" + t1 + "/e/activities?f=" + c.col + "&v=" + c.value)
		if !sort.SliceIsSorted(got, func(i, j int) bool { return got[i] > got[j] }) || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("%s=%q: %d rows, want %d (in order, once)", c.col, c.value, len(got), len(want))
		}
		if c.value == "cancelled" && scanned == 0 {
			t.Fatalf("the rare value's pages never said they stopped scanning")
		}
		t.Logf("%s=%q: %d rows, %d page(s) ran out of windows", c.col, c.value, len(got), scanned)
	}
}
