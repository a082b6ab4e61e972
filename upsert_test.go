package db_test

import (
	"context"
	"errors"
	"testing"

	"github.com/leadmetrics/db"
	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/campaign"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/privacy"
)

// upsertCampaign is the upsert UpsertByRef runs in these tests.
func upsertCampaign(ref, name string) func(context.Context, *ent.Client) error {
	return func(ctx context.Context, c *ent.Client) error {
		return c.Campaign.Create().SetRefID(ref).SetName(name).
			OnConflictColumns(campaign.FieldTenantID, campaign.FieldRefID).UpdateNewValues().Exec(ctx)
	}
}

// campaignRow returns the name and updated_at of the tenant's campaign.
func campaignRow(t *testing.T, h *db.DB, tenant, ref string) (n int, name, updated string) {
	t.Helper()
	err := h.SQL.QueryRow(`SELECT count(*) OVER (), name, updated_at::text FROM campaigns
		WHERE tenant_id = $1 AND ref_id = $2`, tenant, ref).Scan(&n, &name, &updated)
	if err != nil {
		t.Fatal(err)
	}
	return n, name, updated
}

func wantUpserted(t *testing.T, what string, res db.Upserted, err error, outcome db.UpsertOutcome, attempts int) {
	t.Helper()
	if err != nil || res.Outcome != outcome || res.Attempts != attempts || res.ID == "" {
		t.Fatalf("%s: %+v, %v; want %s in %d attempt(s)", what, res, err, outcome, attempts)
	}
}

// UpsertByRef says what it did: inserted, updated, or replayed (same
// content: nothing written, updated_at kept), for a tenant viewer and for
// the system viewer naming the tenant.
func TestUpsertByRefOutcomes(t *testing.T) {
	h := openHandle(t, suitedb.URL(t), nil)
	suitedb.Tenants(t, h.SQL, "up-a", "up-b")
	ctx := privacy.WithTenant(context.Background(), "up-a")

	res, err := h.UpsertByRef(ctx, upsertCampaign("spring", "Spring"))
	wantUpserted(t, "first", res, err, db.Inserted, 1)
	id := res.ID
	_, _, updated := campaignRow(t, h, "up-a", "spring")

	res, err = h.UpsertByRef(ctx, upsertCampaign("spring", "Spring"))
	wantUpserted(t, "same content", res, err, db.Replayed, 1)
	if n, name, again := campaignRow(t, h, "up-a", "spring"); res.ID != id || n != 1 || name != "Spring" || again != updated {
		t.Fatalf("replay: id %s (want %s), %d rows, %q, updated_at %s (was %s): want nothing written", res.ID, id, n, name, again, updated)
	}

	res, err = h.UpsertByRef(ctx, upsertCampaign("spring", "Spring sale"))
	wantUpserted(t, "new content", res, err, db.Updated, 1)
	if n, name, _ := campaignRow(t, h, "up-a", "spring"); res.ID != id || n != 1 || name != "Spring sale" {
		t.Fatalf("update: id %s, %d rows, %q", res.ID, n, name)
	}

	// The same ref id in another tenant is another row.
	res, err = h.UpsertByRef(privacy.WithTenant(context.Background(), "up-b"), upsertCampaign("spring", "B"))
	wantUpserted(t, "tenant b", res, err, db.Inserted, 1)
	if res.ID == id {
		t.Fatal("two tenants share a row")
	}
	// The system viewer names the tenant.
	sys := privacy.WithSystem(context.Background())
	res, err = h.UpsertByRef(sys, func(ctx context.Context, c *ent.Client) error {
		return c.Campaign.Create().SetTenantID("up-a").SetRefID("spring").SetName("Spring sale").
			OnConflictColumns(campaign.FieldTenantID, campaign.FieldRefID).UpdateNewValues().Exec(ctx)
	})
	wantUpserted(t, "system viewer", res, err, db.Replayed, 1)
	if res.ID != id {
		t.Fatalf("system viewer's upsert found %s, want %s", res.ID, id)
	}
}

// Misuse is refused with a typed error, and nothing is written.
func TestUpsertByRefRefusals(t *testing.T) {
	h := openHandle(t, suitedb.URL(t), nil)
	suitedb.Tenants(t, h.SQL, "up-a")
	ctx := privacy.WithTenant(context.Background(), "up-a")
	if _, err := h.UpsertByRef(ctx, upsertCampaign("r", "x")); err != nil {
		t.Fatal(err)
	}
	before := suitedb.Fingerprint(t, h.SQL, "campaigns")
	plainCreate := func(ctx context.Context, c *ent.Client) error {
		return c.Campaign.Create().SetRefID("r").SetName("y").Exec(ctx)
	}
	for name, fn := range map[string]func(context.Context, *ent.Client) error{
		"no write":              func(context.Context, *ent.Client) error { return nil },
		"create without upsert": plainCreate,
		"two creates": func(ctx context.Context, c *ent.Client) error {
			if err := upsertCampaign("r2", "a")(ctx, c); err != nil {
				return err
			}
			return upsertCampaign("r3", "b")(ctx, c)
		},
		"an update": func(ctx context.Context, c *ent.Client) error {
			return c.Campaign.Update().Where(campaign.RefID("r")).SetName("z").Exec(ctx)
		},
	} {
		if res, err := h.UpsertByRef(ctx, fn); !errors.Is(err, db.ErrNotUpsert) || res.Attempts != 1 {
			t.Errorf("%s: %+v, %v; want ErrNotUpsert after one attempt", name, res, err)
		}
	}
	if _, err := h.UpsertByRef(context.Background(), upsertCampaign("r4", "x")); !errors.Is(err, privacy.ErrNoViewer) {
		t.Errorf("no viewer: %v, want ErrNoViewer", err)
	}
	if _, err := h.UpsertByRef(db.ReadOnlyContext(ctx), upsertCampaign("r5", "x")); !errors.Is(err, db.ErrReadOnly) {
		t.Errorf("read-only context: %v, want ErrReadOnly", err)
	}
	if after := suitedb.Fingerprint(t, h.SQL, "campaigns"); after != before {
		t.Fatal("a refused upsert wrote")
	}
}

// The upsert's connection is lost (its backend terminated, as in a
// failover) during the statement, during the COMMIT, or after the COMMIT
// was applied with the answer cut: the layer reruns it, and it is applied
// once; the last case reports the rerun as a replay.
func TestUpsertByRefRerunsAfterConnectionLoss(t *testing.T) {
	url := suitedb.URL(t)
	h := openHandle(t, url, nil)
	suitedb.Tenants(t, h.SQL, "up-a")
	ctx := privacy.WithTenant(context.Background(), "up-a")

	t.Run("killed in the statement", func(t *testing.T) {
		fired := suitedb.KillInStatement(t, h.SQL, "campaigns", 1)
		res, err := h.UpsertByRef(ctx, upsertCampaign("in-statement", "x"))
		wantUpserted(t, "rerun", res, err, db.Inserted, 2)
		if n, _, _ := campaignRow(t, h, "up-a", "in-statement"); n != 1 || fired() != 2 {
			t.Fatalf("%d rows after %d runs of the trigger", n, fired())
		}
	})
	t.Run("killed in the commit", func(t *testing.T) {
		fired := suitedb.KillAtCommit(t, h.SQL, "campaigns", 1)
		res, err := h.UpsertByRef(ctx, upsertCampaign("at-commit", "x"))
		wantUpserted(t, "rerun", res, err, db.Inserted, 2) // the server rolled the first back
		if n, _, _ := campaignRow(t, h, "up-a", "at-commit"); n != 1 || fired() != 2 {
			t.Fatalf("%d rows after %d runs of the trigger", n, fired())
		}
	})
	t.Run("committed, answer lost", func(t *testing.T) {
		px := suitedb.NewCutProxy(t, url)
		proxied := openHandle(t, px.URL, nil)
		px.CutReplyTo("commit\x00")
		res, err := proxied.UpsertByRef(ctx, upsertCampaign("answer-lost", "x"))
		wantUpserted(t, "rerun", res, err, db.Replayed, 2)
		if n, name, _ := campaignRow(t, h, "up-a", "answer-lost"); n != 1 || name != "x" {
			t.Fatalf("%d rows named %q", n, name)
		}
	})
}

// A function that leaves the ref id to its default gets a new key on each
// run: its rerun is refused instead of writing a second row, and the error
// says the first attempt's outcome is unknown.
func TestUpsertByRefRefusesAnUnstableRef(t *testing.T) {
	h := openHandle(t, suitedb.URL(t), nil)
	suitedb.Tenants(t, h.SQL, "up-a")
	ctx := privacy.WithTenant(context.Background(), "up-a")
	fired := suitedb.KillAtCommit(t, h.SQL, "campaigns", 1)
	res, err := h.UpsertByRef(ctx, func(ctx context.Context, c *ent.Client) error {
		return c.Campaign.Create().SetName("no ref").
			OnConflictColumns(campaign.FieldTenantID, campaign.FieldRefID).UpdateNewValues().Exec(ctx)
	})
	if !errors.Is(err, db.ErrNotUpsert) || !errors.Is(err, db.ErrOutcomeUnknown) || res.Attempts != 2 || fired() != 1 {
		t.Fatalf("%+v, %v after %d runs of the trigger; want the rerun refused (ErrNotUpsert, ErrOutcomeUnknown)", res, err, fired())
	}
	var n int
	if err := h.SQL.QueryRow(`SELECT count(*) FROM campaigns WHERE name = 'no ref'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d rows (%v): the refused rerun wrote", n, err)
	}
}
