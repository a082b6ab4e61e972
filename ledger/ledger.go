// Package ledger keeps each tenant's credits: an append-only ledger of signed entries and a balance row that always reconciles.
package ledger

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/privacy"
)

// Ledger posts and reads credit entries. The tenant always comes from the
// viewer in the context, never from an argument.
type Ledger struct {
	client *ent.Client
	db     *sql.DB
}

// New returns a ledger over the Ent client and the raw handle on the same
// database. The raw handle must come from the pgx driver (db.OpenDB) for
// the bulk COPY path.
func New(client *ent.Client, db *sql.DB) *Ledger {
	return &Ledger{client: client, db: db}
}

// querier is what a posting needs: *sql.DB, *sql.Tx and *sql.Conn all are.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// tenantOf returns the tenant viewer of ctx. The system viewer has no
// tenant and cannot hold credits, so it is refused too.
func tenantOf(ctx context.Context) (string, error) {
	v, ok := privacy.FromContext(ctx)
	if !ok || v.System || v.TenantID == "" {
		return "", fmt.Errorf("ledger: a tenant viewer is required: %w", privacy.ErrNoViewer)
	}
	return v.TenantID, nil
}

// actorOf renders the viewer's actor for the entry's actor column.
func actorOf(ctx context.Context) string {
	v, _ := privacy.FromContext(ctx)
	switch {
	case v.Actor.Type == "":
		return ""
	case v.Actor.ID == "":
		return string(v.Actor.Type)
	}
	return string(v.Actor.Type) + ":" + v.Actor.ID
}
