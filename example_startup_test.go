package db_test

// README: "Quick start" shows this file from the imports to the end.
import (
	"context"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/activity"
	"github.com/leadmetrics/db/migrations"
	"github.com/leadmetrics/db/privacy"
)

// start opens the database and brings its schema up to the migrations
// embedded in this binary.
func start(ctx context.Context) (*db.DB, error) {
	cfg, err := db.ConfigFromEnv() // typed *db.ConfigError naming the variable
	if err != nil {
		return nil, err
	}
	h, err := db.Open(ctx, cfg) // one pool, warmed to DATABASE_POOL_MIN
	if err != nil {
		return nil, err
	}
	// The embedded files, one transaction each, under the migration lock.
	// AllowAhead: during a rolling deploy an old pod may start on a schema
	// the new release already migrated (expand/contract, MIGRATIONS.md).
	if _, err := migrations.Apply(ctx, h.SQL, migrations.Options{AllowAhead: true}); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// pendingActivities reads as one tenant: every call carries a viewer.
func pendingActivities(ctx context.Context, h *db.DB, tenantID string) ([]*ent.Activity, error) {
	ctx = privacy.WithTenant(ctx, tenantID)
	return h.Activity.Query().Where(activity.StatusEQ(activity.StatusPending)).All(ctx)
}
