// Package systemtest holds what the system tests in its subpackages share:
// tests of the migrated schema on PostgreSQL (schema), of the Citus layout
// (citus), of the failover formation (failover) and of PgBouncer
// (pgbouncer). scripts/test.sh names these packages in its steps.
package systemtest

import (
	"context"
	"fmt"
	"time"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/activity"
	"github.com/leadmetrics/db/ent/campaign"
	"github.com/leadmetrics/db/ent/deliverable"
	"github.com/leadmetrics/db/ent/dispatchlog"
	"github.com/leadmetrics/db/ent/hitlapproval"
	"github.com/leadmetrics/db/ent/llmcalllog"
)

// TenantQuery is one of the queries a tenant's requests make most, named
// by the table whose plan matters.
type TenantQuery struct {
	Table string
	Run   func() error
}

// FrequentTenantQueries are the platform's most frequent tenant reads;
// the index test (schema) and the Citus routing test (citus) both run them.
// activityID is an activity of the viewer's tenant.
func FrequentTenantQueries(ctx context.Context, client *ent.Client, activityID string) []TenantQuery {
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	return []TenantQuery{
		{"activities", func() error { // the work queue
			_, err := client.Activity.Query().Where(activity.StatusEQ(activity.StatusPending)).
				Order(ent.Asc(activity.FieldScheduledAt)).Limit(50).All(ctx)
			return err
		}},
		{"deliverables", func() error {
			_, err := client.Deliverable.Query().Where(deliverable.ActivityID(activityID)).All(ctx)
			return err
		}},
		{"llm_call_logs", func() error {
			_, err := client.LlmCallLog.Query().Where(llmcalllog.CreatedAtGTE(since)).
				Order(ent.Desc(llmcalllog.FieldCreatedAt)).Limit(50).All(ctx)
			return err
		}},
		{"credit_ledger_entries", func() error {
			_, err := client.CreditLedgerEntry.Query().Order(ent.Desc("created_at")).Limit(50).All(ctx)
			return err
		}},
		{"dispatch_logs", func() error {
			_, err := client.DispatchLog.Query().Where(dispatchlog.StatusEQ(dispatchlog.StatusFailed)).All(ctx)
			return err
		}},
		{"hitl_approvals", func() error {
			_, err := client.HitlApproval.Query().Where(hitlapproval.StatusEQ(hitlapproval.StatusPending)).
				Order(ent.Asc(hitlapproval.FieldExpiresAt)).All(ctx)
			return err
		}},
		{"users", func() error {
			_, err := client.User.Query().Count(ctx)
			return err
		}},
	}
}

// O2MEdgeWrites add, remove and clear an O2M edge (campaign → activities,
// held by activities.campaign_id) through each write path: UpdateOne,
// create, bulk update, bulk create. camp is a campaign and loose an
// activity in no campaign, both of ctx's tenant; loose ends unlinked. The
// name of each is in table.
func O2MEdgeWrites(ctx context.Context, client *ent.Client, camp, loose string) []TenantQuery {
	return []TenantQuery{
		{"add an O2M edge", func() error { return client.Campaign.UpdateOneID(camp).AddActivityIDs(loose).Exec(ctx) }},
		{"remove an O2M edge", func() error { return client.Campaign.UpdateOneID(camp).RemoveActivityIDs(loose).Exec(ctx) }},
		{"create with an O2M edge", func() error {
			return client.Campaign.Create().SetName("o2m").AddActivityIDs(loose).Exec(ctx)
		}},
		{"bulk update clearing an O2M edge", func() error {
			n, err := client.Campaign.Update().Where(campaign.Name("o2m")).ClearActivities().Save(ctx)
			if err == nil && n != 1 {
				err = fmt.Errorf("bulk update changed %d campaigns, want 1", n)
			}
			return err
		}},
		{"bulk create with an O2M edge", func() error {
			return client.Campaign.CreateBulk(client.Campaign.Create().SetName("o2m-bulk").AddActivityIDs(loose)).Exec(ctx)
		}},
		{"clear an O2M edge", func() error {
			id, err := client.Campaign.Query().Where(campaign.Name("o2m-bulk")).OnlyID(ctx)
			if err != nil {
				return err
			}
			return client.Campaign.UpdateOneID(id).ClearActivities().Exec(ctx)
		}},
	}
}
