package page_test

import (
	"context"
	"errors"
	"testing"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/leadmetrics/db/ent"
	_ "github.com/leadmetrics/db/ent/runtime"
	"github.com/leadmetrics/db/internal/scaleload"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/page"
	"github.com/leadmetrics/db/privacy"
)

func TestPagesVisitEveryRowOnceInOrder(t *testing.T) {
	sqlDB := suitedb.DB(t)
	ctx := context.Background()
	if _, err := scaleload.Load(ctx, sqlDB, scaleload.Spec{Tenants: 3, Fraction: 0.0001}); err != nil {
		t.Fatal(err)
	}
	// Ties on created_at must be broken by id, not skipped or repeated.
	if _, err := sqlDB.Exec(`UPDATE llm_call_logs SET created_at = date_trunc('day', created_at)`); err != nil {
		t.Fatal(err)
	}
	c := ent.NewClient(ent.Driver(entsql.OpenDB("postgres", sqlDB)))
	tctx := privacy.WithTenant(ctx, scaleload.TenantID(1))
	want, err := c.LlmCallLog.Query().Count(tctx)
	if err != nil || want < 100 {
		t.Fatalf("%d calls, %v", want, err)
	}
	seen := map[string]bool{}
	var prev *ent.LlmCallLog
	cursor, pages := "", 0
	for {
		p, err := page.LLMCalls(tctx, c, cursor, 37)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range p.Rows {
			if seen[r.ID] {
				t.Fatalf("row %s twice", r.ID)
			}
			seen[r.ID] = true
			if prev != nil && (r.CreatedAt.After(prev.CreatedAt) || r.CreatedAt.Equal(prev.CreatedAt) && r.ID > prev.ID) {
				t.Fatalf("out of order: %s after %s", r.ID, prev.ID)
			}
			prev = r
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
		// Another tenant cannot follow this tenant's cursor.
		if _, err := page.LLMCalls(privacy.WithTenant(ctx, scaleload.TenantID(2)), c, cursor, 37); !errors.Is(err, page.ErrCursor) {
			t.Fatalf("another tenant's cursor: %v, want ErrCursor", err)
		}
	}
	if len(seen) != want || pages != (want+36)/37 {
		t.Fatalf("%d rows in %d pages, want %d rows", len(seen), pages, want)
	}
}

func TestBadCursorsAndLimits(t *testing.T) {
	c, _ := suitedb.Client(t)
	ctx := privacy.WithTenant(context.Background(), "t1")
	for _, cur := range []string{"x", "!!", "djF8dDF8Y3JlYXRlZF9hdHw"} {
		if _, err := page.LLMCalls(ctx, c, cur, 10); !errors.Is(err, page.ErrCursor) {
			t.Errorf("cursor %q: %v, want ErrCursor", cur, err)
		}
	}
	for _, n := range []int{0, -1, page.MaxLimit + 1} {
		if _, err := page.FailedDispatches(ctx, c, "", n); !errors.Is(err, page.ErrLimit) {
			t.Errorf("limit %d: %v, want ErrLimit", n, err)
		}
	}
}

// TestByIDVisitsEveryRowOnce: the id order pages both ways over every row
// once, in order, and a cursor of one direction is refused in the other.
func TestByIDVisitsEveryRowOnce(t *testing.T) {
	sqlDB := suitedb.DB(t)
	ctx := context.Background()
	if _, err := scaleload.Load(ctx, sqlDB, scaleload.Spec{Tenants: 2, Fraction: 0.0001}); err != nil {
		t.Fatal(err)
	}
	c := ent.NewClient(ent.Driver(entsql.OpenDB("postgres", sqlDB)))
	tctx := privacy.WithTenant(ctx, scaleload.TenantID(1))
	want, err := c.Activity.Query().Count(tctx)
	if err != nil || want < 20 {
		t.Fatalf("%d activities, %v", want, err)
	}
	for _, desc := range []bool{true, false} {
		o := page.ByID(desc)
		seen, prev, cursor := map[string]bool{}, "", ""
		for {
			p, err := page.List(tctx, o, cursor, 7, func(r *ent.Activity) (time.Time, string) { return time.Time{}, r.ID },
				func(w, ord func(*entsql.Selector), n int) ([]*ent.Activity, error) {
					return c.Activity.Query().Where(w).Order(ord).Limit(n).All(tctx)
				})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range p.Rows {
				if seen[r.ID] || prev != "" && (r.ID > prev) != !desc {
					t.Fatalf("desc=%v: %s after %s (or twice)", desc, r.ID, prev)
				}
				seen[r.ID], prev = true, r.ID
			}
			if p.Next == "" {
				break
			}
			cursor = p.Next
			if _, err := page.List(tctx, page.ByID(!desc), cursor, 7, func(r *ent.Activity) (time.Time, string) { return time.Time{}, r.ID },
				func(w, ord func(*entsql.Selector), n int) ([]*ent.Activity, error) { return nil, nil }); !errors.Is(err, page.ErrCursor) {
				t.Fatalf("a cursor of the other direction: %v, want ErrCursor", err)
			}
		}
		if len(seen) != want {
			t.Fatalf("desc=%v: %d rows, want %d", desc, len(seen), want)
		}
	}
}
