package db_test

// README: "Using the client" shows this file from the imports to the end.
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
	// Embedded files, one transaction each, under the migration lock.
	// AllowAhead: in a rolling deploy the new release migrates first, and
	// the old pods still starting find a database newer than their files.
	// The migrations are expand/contract (MIGRATIONS.md), so old code runs
	// on the newer schema; without AllowAhead Apply returns a
	// *migrations.AheadError and the old pods crash-loop until the rollout
	// ends. h.Check still reports the database as ahead for readiness.
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
