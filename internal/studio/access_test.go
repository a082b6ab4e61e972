package studio_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/leadmetrics/db/internal/scaleload"
	"github.com/leadmetrics/db/internal/studio"
	"github.com/leadmetrics/db/privacy"
)

func TestCheckAddr(t *testing.T) {
	for _, c := range []struct {
		addr     string
		allowAny bool
		ok       bool
	}{
		{"127.0.0.1:5555", false, true},
		{"[::1]:5555", false, true},
		{"localhost:5555", false, true},
		{"10.1.2.3:5555", false, true}, // one named address: the operator's choice
		{"0.0.0.0:5555", false, false},
		{"[::]:5555", false, false},
		{":5555", false, false},
		{"0.0.0.0:5555", true, true},
		{":5555", true, true},
		{"example.com:5555", false, false}, // a name may resolve anywhere
		{"127.0.0.1", false, false},
	} {
		err := studio.CheckAddr(c.addr, c.allowAny)
		if (err == nil) != c.ok || err != nil && !errors.Is(err, studio.ErrAddress) {
			t.Errorf("CheckAddr(%q, %v) = %v, want ok=%v", c.addr, c.allowAny, err, c.ok)
		}
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// TestAccess: the token is required and exchanged once for an HttpOnly,
// SameSite=Strict cookie that is not the token, the redirect drops it from
// the URL and the log never shows it; a foreign Host is refused; a write
// needs POST, this origin and the CSRF token, and without --write is
// refused even then.
func TestAccess(t *testing.T) {
	f := newFixture(t, scaleload.Spec{Tenants: 2, Fraction: 0.00005})
	r := serve(t, f, studio.Config{})
	if len(r.Token()) < studio.MinTokenLen {
		t.Fatalf("token %d characters", len(r.Token()))
	}
	anon := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if code, _ := get(t, anon, r.URL+"/"); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", code)
	}
	if code, _ := get(t, anon, r.URL+"/?token=wrong"); code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", code)
	}
	resp, err := anon.Get(r.URL + "/t/" + scaleload.TenantID(1) + "/?token=" + url.QueryEscape(r.Token()) + "&x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || strings.Contains(loc, r.Token()) || loc != "/t/"+scaleload.TenantID(1)+"/?x=1" {
		t.Fatalf("exchange: %d to %q", resp.StatusCode, loc)
	}
	for _, path := range []string{"//evil.example/x", "/\\evil.example/x"} {
		resp, err := anon.Get(r.URL + path + "?token=" + url.QueryEscape(r.Token()))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); loc != "/" {
			t.Fatalf("exchange at %q redirects to %q", path, loc)
		}
	}
	cs := resp.Cookies()
	if len(cs) != 1 || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteStrictMode || cs[0].Value == r.Token() ||
		strings.Contains(cs[0].Value, r.Token()) {
		t.Fatalf("cookie %+v", cs)
	}
	c := signedIn(t, r)
	code, body := get(t, c, r.URL+"/")
	if code != 200 || !strings.Contains(body, scaleload.TenantID(2)) {
		t.Fatalf("tenants: %d", code)
	}
	// A DNS name rebound to 127.0.0.1 is not this server.
	req, _ := http.NewRequest(http.MethodGet, r.URL+"/", nil)
	req.Host = "attacker.example:80"
	if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("foreign Host: %v %v", resp.StatusCode, err)
	}

	rowURL := r.URL + "/t/" + scaleload.TenantID(1) + "/e/activities"
	_, list := get(t, c, rowURL)
	id := regexp.MustCompile(`class="row-link" href="[^"]*/([^/"]+)"`).FindStringSubmatch(list)
	if id == nil {
		t.Fatal("no row on the list")
	}
	_, rowPage := get(t, c, rowURL+"/"+id[1])
	m := csrfField.FindStringSubmatch(rowPage)
	if m == nil {
		t.Fatal("no CSRF token on the row page")
	}
	edit := rowURL + "/" + id[1] + "/edit"
	form := url.Values{"csrf": {m[1]}, "field": {"priority"}, "value": {"5"}, "confirm": {"yes"}}
	for _, bad := range []struct {
		origin string
		form   url.Values
	}{
		{"", form},
		{"http://evil.example", form},
		{r.URL, url.Values{"field": {"priority"}, "value": {"5"}, "confirm": {"yes"}}},
		{r.URL, url.Values{"csrf": {"00" + m[1][2:]}, "field": {"priority"}, "value": {"5"}, "confirm": {"yes"}}},
	} {
		if code, _ := post(t, c, edit, bad.origin, bad.form); code != http.StatusForbidden {
			t.Fatalf("POST origin %q form %v: %d, want 403", bad.origin, bad.form, code)
		}
	}
	if code, body := post(t, anon, edit, r.URL, form); code != http.StatusUnauthorized {
		t.Fatalf("POST without the cookie: %d %s", code, body)
	}
	if code, body := post(t, c, edit, r.URL, form); code != http.StatusForbidden || !strings.Contains(body, "read-only") {
		t.Fatalf("edit without --write: %d", code)
	}
	if log := r.Log.String(); strings.Contains(log, r.Token()) || !strings.Contains(log, "GET /t/") {
		t.Fatalf("log:\n%s", log)
	}

	// The all-tenants view exists only with --system, lists by id only.
	if code, _ := get(t, c, r.URL+"/t/_all/e/activities"); code != http.StatusBadRequest {
		t.Fatalf("system view without --system: %d", code)
	}
	sys := serve(t, f, studio.Config{System: true})
	sc := signedIn(t, sys)
	code, body = get(t, sc, sys.URL+"/t/_all/e/activities?dir=asc")
	if code != 200 || !strings.Contains(body, scaleload.TenantID(1)) || !strings.Contains(body, scaleload.TenantID(2)) {
		t.Fatalf("system view: %d", code)
	}
	if code, _ := get(t, sc, sys.URL+"/t/_all/e/activities?f=status&v=queued"); code != http.StatusBadRequest {
		t.Fatalf("system view filter: %d", code)
	}
}

// TestEditsGoThroughTheLayer: with --write, an edit is confirmed first,
// then validated, written and audited; another tenant's row is not found;
// a suspended tenant's edit is refused by the lifecycle gate and writes
// nothing; page views are on the record.
func TestEditsGoThroughTheLayer(t *testing.T) {
	f := newFixture(t, scaleload.Spec{Tenants: 2, Fraction: 0.00005})
	r := serve(t, f, studio.Config{Write: true})
	c := signedIn(t, r)
	t1, t2 := scaleload.TenantID(1), scaleload.TenantID(2)
	var id, other string
	if err := f.SQL.QueryRow(`SELECT id FROM activities WHERE tenant_id = $1 ORDER BY id LIMIT 1`, t1).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if err := f.SQL.QueryRow(`SELECT id FROM activities WHERE tenant_id = $1 ORDER BY id LIMIT 1`, t2).Scan(&other); err != nil {
		t.Fatal(err)
	}
	base := r.URL + "/t/" + t1 + "/e/activities/"
	if code, body := get(t, c, base+other); code != http.StatusNotFound || strings.Contains(body, other+"</td>") {
		t.Fatalf("another tenant's row: %d", code)
	}
	_, page := get(t, c, base+id)
	csrf := csrfField.FindStringSubmatch(page)[1]
	edit := func(value, confirm string) (int, string) {
		return post(t, c, base+id+"/edit", r.URL, url.Values{"csrf": {csrf}, "field": {"priority"}, "value": {value}, "confirm": {confirm}})
	}
	priority := func() (p int) {
		t.Helper()
		if err := f.SQL.QueryRow(`SELECT priority FROM activities WHERE id = $1`, id).Scan(&p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	before := priority()
	if code, body := edit("41", ""); code != 200 || !strings.Contains(body, `id="confirm"`) || priority() != before {
		t.Fatalf("preview: %d, priority %d", code, priority())
	}
	if code, _ := edit("forty", "yes"); code != http.StatusBadRequest || priority() != before {
		t.Fatalf("bad value: %d", code)
	}
	if code, _ := edit("41", "yes"); code != http.StatusSeeOther || priority() != 41 {
		t.Fatalf("confirmed edit: %d, priority %d", code, priority())
	}
	var changes string
	if err := f.SQL.QueryRow(`SELECT changes::text FROM audit_logs WHERE tenant_id = $1 AND action = 'studio.update'
		AND entity_type = 'activities' AND entity_id = $2 AND actor_id = 'tester'`, t1, id).Scan(&changes); err != nil {
		t.Fatalf("no audit record of the edit: %v", err)
	}
	if !strings.Contains(changes, `"new": 41`) || !strings.Contains(changes, `"field": "priority"`) {
		t.Fatalf("audit changes %s", changes)
	}
	// The ledger and the audit log are never edited.
	if code, _ := post(t, c, r.URL+"/t/"+t1+"/e/credit_ledger_entries/x/edit", r.URL,
		url.Values{"csrf": {csrf}, "field": {"amount"}, "value": {"1"}, "confirm": {"yes"}}); code != http.StatusBadRequest {
		t.Fatalf("ledger edit: %d", code)
	}

	if _, err := f.SQL.Exec(`UPDATE tenants SET status = 'suspended' WHERE id = $1`, t1); err != nil {
		t.Fatal(err)
	}
	privacy.InvalidateTenantStates()
	code, body := edit("42", "yes")
	if code != http.StatusUnprocessableEntity || priority() != 41 {
		t.Fatalf("suspended tenant's edit: %d, priority %d", code, priority())
	}
	if !strings.Contains(body, "suspended") && !strings.Contains(body, "inactive") {
		t.Fatalf("suspended tenant's edit says %q", body)
	}
	if code, _ := get(t, c, base+id); code != 200 {
		t.Fatalf("a suspended tenant's page: %d (reads go on)", code)
	}
	r.Close() // writes the pending page views
	var views int
	if err := f.SQL.QueryRowContext(context.Background(), `SELECT count(*) FROM audit_logs WHERE action = 'studio.view'
		AND tenant_id = $1 AND entity_id = $2`, t1, id).Scan(&views); err != nil || views < 2 {
		t.Fatalf("%d page views of the row on record, %v", views, err)
	}
}
