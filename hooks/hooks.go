// Package hooks holds the Ent hooks of the data layer: tenant stamping,
// cross-tenant reference checks and soft delete.
package hooks

import (
	"context"

	"github.com/leadmetrics/db/internal/scope"
)

// WithDeleted makes reads include soft-deleted rows (still only the
// viewer's tenant), for admin views and restore.
func WithDeleted(ctx context.Context) context.Context { return scope.WithDeleted(ctx) }

// WithHardDelete makes deletes remove rows for real (retention, erasure
// requests). Only the system viewer may use it: a tenant viewer's delete
// with it fails with privacy.ErrSystemOnly.
func WithHardDelete(ctx context.Context) context.Context { return scope.WithHardDelete(ctx) }
