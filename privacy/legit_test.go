package privacy_test

import (
	"context"
	"testing"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqljson"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/activity"
	"github.com/leadmetrics/db/ent/campaign"
	"github.com/leadmetrics/db/ent/predicate"
	"github.com/leadmetrics/db/privacy"
)

// Sealing refuses what could leave its clause, never what Ent's own
// predicates, orders and aggregates render: each of these runs under a
// tenant viewer without error.
func TestSealingKeepsEntPredicates(t *testing.T) {
	f := newFixture(t)
	ctx := privacy.WithTenant(context.Background(), f.a)
	c := f.env.Client
	preds := map[string]predicate.Activity{
		"EqualFold":    activity.TitleEqualFold("X"),
		"ContainsFold": activity.TitleContainsFold("x"),
		"HasPrefix":    activity.TitleHasPrefix("x%_"),
		"In":           activity.StatusIn(activity.StatusPending, activity.StatusQueued),
		"Time":         activity.ScheduledAtLT(time.Now()),
		"IsNil":        activity.InputIsNil(),
		"NotOrAnd": activity.Not(activity.Or(activity.TitleEQ("a"),
			activity.And(activity.TitleNEQ("b"), activity.InputNotNil()))),
		"JSONValueEQ":    func(s *entsql.Selector) { s.Where(sqljson.ValueEQ(activity.FieldInput, "v", sqljson.Path("k"))) },
		"JSONHasKey":     func(s *entsql.Selector) { s.Where(sqljson.HasKey(activity.FieldInput, sqljson.Path("k"))) },
		"JSONContains":   func(s *entsql.Selector) { s.Where(sqljson.ValueContains(activity.FieldInput, "v", sqljson.Path("k"))) },
		"JSONLen":        func(s *entsql.Selector) { s.Where(sqljson.LenEQ(activity.FieldInput, 1, sqljson.Path("k"))) },
		"HasEdgeWith":    activity.HasCampaignWith(campaign.NameContainsFold("x"), campaign.Not(campaign.HasActivities())),
		"HasEdge":        activity.HasDeliverables(),
		"ColumnsCompare": func(s *entsql.Selector) { s.Where(entsql.ColumnsLT(s.C("created_at"), s.C("updated_at"))) },
	}
	for name, p := range preds {
		if _, err := c.Activity.Query().Where(p).IDs(ctx); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := c.Activity.Update().Where(p).SetTitle("t").Save(ctx); err != nil {
			t.Errorf("%s (update): %v", name, err)
		}
	}
	for name, o := range map[string]activity.OrderOption{
		"ByTitle":     activity.ByTitle(),
		"ByDesc":      activity.ByScheduledAt(entsql.OrderDesc(), entsql.OrderNullsLast()),
		"ent.Asc":     activity.OrderOption(ent.Asc(activity.FieldCreatedAt, activity.FieldID)),
		"ent.Desc":    activity.OrderOption(ent.Desc(activity.FieldPriority)),
		"ByCampainID": activity.ByCampaignID(),
	} {
		if _, err := c.Activity.Query().Order(o).Limit(3).IDs(ctx); err != nil {
			t.Errorf("order %s: %v", name, err)
		}
	}
	var sums []struct {
		Status string `json:"status"`
		N      int    `json:"n"`
		Max    int    `json:"max"`
	}
	if err := c.Activity.Query().GroupBy(activity.FieldStatus).
		Aggregate(ent.As(ent.Count(), "n"), ent.As(ent.Max(activity.FieldPriority), "max")).Scan(ctx, &sums); err != nil {
		t.Errorf("group by with aggregates: %v", err)
	}
	if _, err := c.Activity.Query().Aggregate(ent.Sum(activity.FieldPriority)).Int(ctx); err != nil {
		t.Errorf("sum: %v", err)
	}
}
