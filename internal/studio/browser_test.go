package studio_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/leadmetrics/db/internal/scaleload"
	"github.com/leadmetrics/db/internal/studio"
)

// browser starts headless Chromium (Debian's, scripts/deps.sh): skipped
// when there is none unless STUDIO_BROWSER=required (scripts/test.sh), then
// it fails.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("STUDIO_BROWSER") == "required" {
			t.Fatal("no Chromium (STUDIO_BROWSER=required): run scripts/deps.sh")
		}
		t.Skip("no Chromium: scripts/deps.sh installs it")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 860))
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(alloc)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel3)
	return ctx
}

// shot saves the page as NAME.png in STUDIO_SCREENSHOTS when it is set
// (the docs' screenshots, docs/studio, are made so).
func shot(name string) chromedp.Action[chromedp.Void] {
	dir := os.Getenv("STUDIO_SCREENSHOTS")
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if dir == "" {
			return nil
		}
		png, err := chromedp.FullScreenshot(100)(ctx, t)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	})
}

// tab is a browser tab with the test's helpers.
type tab struct {
	t   *testing.T
	ctx context.Context
}

func (b tab) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
}

func (b tab) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func (b tab) location() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

func click(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }
func wait(sel string) chromedp.Action[chromedp.Void]  { return chromedp.WaitVisible(chromedp.CSS(sel)) }
func set(sel, v string) chromedp.Action[chromedp.Void] {
	return chromedp.SetValue(chromedp.CSS(sel), v)
}
func submit(sel string) chromedp.Action[chromedp.Void] { return chromedp.Submit(chromedp.CSS(sel)) }

// TestBrowser drives the studio in headless Chromium: open it with the
// token, pick a tenant, page through activities, open a row, follow an
// edge, try another tenant's row id in the URL (not found), try an edit
// without --write (refused), then with --write make a bad edit (refused by
// validation) and a good one (confirmed, written, audited), and reconcile
// the ledger.
func TestBrowser(t *testing.T) {
	b := tab{t, browser(t)}
	f := newFixture(t, scaleload.Spec{Tenants: 3, Fraction: 0.0002})
	ro := serve(t, f, studio.Config{PageSize: 20})
	t1, t2 := scaleload.TenantID(1), scaleload.TenantID(2)
	var other string
	if err := f.SQL.QueryRow(`SELECT id FROM activities WHERE tenant_id = $1 LIMIT 1`, t2).Scan(&other); err != nil {
		t.Fatal(err)
	}
	b.do("open", chromedp.Navigate(ro.URL+"/?token="+ro.Token()), wait(`a.tenant`), shot("tenants"))
	if loc := b.location(); strings.Contains(loc, "token") {
		t.Fatalf("the token stayed in the address bar: %s", loc)
	}
	b.do("pick a tenant", click(`a[href="/t/`+t1+`/"]`), wait(`#entity-activities`), shot("tenant"))
	b.do("activities", click(`#entity-activities`), wait(`a.row-link`), shot("list"))
	first := b.text(`a.row-link`)
	b.do("next page", click(`#next`), wait(`a[href$="/e/activities"]`), wait(`a.row-link`))
	second := b.text(`a.row-link`)
	if first == "" || second == "" || second >= first {
		t.Fatalf("pages: first row %q then %q (newest first)", first, second)
	}
	b.do("open a row", click(`a.row-link`), wait(`#row-id`), shot("row"))
	rowID, rowURL := b.text(`#row-id`), b.location()
	if rowID != second {
		t.Fatalf("row %q, want %q", rowID, second)
	}
	// An edge: the deliverables of this activity, one of them, and back
	// along its activity_id link.
	b.do("follow an edge", click(`a.ref[href*="/e/deliverables?"]`), wait(`a.row-link`),
		click(`a.row-link`), wait(`a.edge[data-field="activity_id"]`),
		click(`a.edge[data-field="activity_id"]`), wait(`#row-id`))
	if got := b.text(`#row-id`); got != rowID {
		t.Fatalf("the deliverable's activity edge led to %q, want %q", got, rowID)
	}
	b.do("another tenant's row", chromedp.Navigate(ro.URL+"/t/"+t1+"/e/activities/"+other), wait(`#error`))
	if got := b.text(`#error`); !strings.Contains(got, "no activities row") {
		t.Fatalf("another tenant's row id: %q", got)
	}
	b.do("edit without --write", chromedp.Navigate(rowURL), wait(`#edit`),
		set(`#edit select[name="field"]`, "priority"), set(`#edit input[name="value"]`, "77"),
		submit(`#edit input[name="value"]`), wait(`#error`))
	if got := b.text(`#error`); !strings.Contains(got, "read-only") {
		t.Fatalf("edit without --write: %q", got)
	}

	rw := serve(t, f, studio.Config{Write: true, Actor: "browser"})
	rowPath := strings.TrimPrefix(rowURL, ro.URL)
	b.do("sign in with --write", chromedp.Navigate(rw.URL+"/?token="+rw.Token()), wait(`a.tenant`))
	b.do("bad edit", chromedp.Navigate(rw.URL+rowPath), wait(`#edit`),
		set(`#edit select[name="field"]`, "title"), set(`#edit input[name="value"]`, strings.Repeat("x", 300)),
		submit(`#edit input[name="value"]`), wait(`#confirm`), click(`#confirm`), wait(`#error`))
	if got := b.text(`#error`); !strings.Contains(got, "title") {
		t.Fatalf("a title over the schema's length: %q", got)
	}
	b.do("good edit", chromedp.Navigate(rw.URL+rowPath), wait(`#edit`),
		set(`#edit select[name="field"]`, "priority"), set(`#edit input[name="value"]`, "77"),
		submit(`#edit input[name="value"]`), wait(`#confirm`), shot("confirm"), click(`#confirm`), wait(`#saved`))
	if got := b.text(`.value[data-field="priority"]`); got != "77" {
		t.Fatalf("priority after the edit: %q", got)
	}
	var audited int
	if err := f.SQL.QueryRow(`SELECT count(*) FROM audit_logs WHERE action = 'studio.update' AND actor_id = 'browser'
		AND entity_id = $1 AND changes->>'new' = '77'`, rowID).Scan(&audited); err != nil || audited != 1 {
		t.Fatalf("%d audit records of the edit, %v", audited, err)
	}
	b.do("ledger", chromedp.Navigate(rw.URL+"/t/"+t1+"/ledger"), wait(`#balance`),
		submit(`form button`), wait(`#reconcile`))
	if got := b.text(`#reconcile`); !strings.Contains(got, "OK, no drift") {
		t.Fatalf("reconciliation: %q", got)
	}
	b.do("ledger shot", shot("ledger"))
}
