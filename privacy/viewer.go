// Package privacy is the one tenancy package services and schemas import:
// who is calling (the viewer) in the context, the mixins that put an entity
// under tenant isolation (policies, tenant stamping, cross-tenant checks,
// soft delete), and the tenant lifecycle; the generated code confines every
// statement to the viewer's rows (internal/runtime/scope).
package privacy

import (
	"context"
	"strings"

	"github.com/leadmetrics/db/internal/runtime/scope"
)

// PlatformTenantID owns the platform's shared rows (the plan catalog).
const PlatformTenantID = scope.PlatformTenantID

// ActorType says what kind of principal acts.
type ActorType = scope.ActorType

// Actor types, as recorded in audit logs.
const (
	ActorUser   = scope.ActorUser
	ActorAgent  = scope.ActorAgent
	ActorSystem = scope.ActorSystem
)

// Actor is who acts within a viewer, for audit.
type Actor = scope.Actor

// Viewer is the identity a query or mutation runs as: one tenant, or the
// platform itself (System). The type lives in internal/runtime/scope so that the
// generated code can read it without an import cycle.
type Viewer = scope.Viewer

// Typed errors callers test with errors.Is.
var (
	ErrNoViewer       = scope.ErrNoViewer
	ErrTenantMismatch = scope.ErrTenantMismatch
	ErrCrossTenantRef = scope.ErrCrossTenantRef
	ErrImmutable      = scope.ErrImmutable
	ErrSystemOnly     = scope.ErrSystemOnly
	ErrTenantInactive = scope.ErrTenantInactive
	// ErrUnsafeSQL: SQL text a caller's predicate, order or aggregate
	// function produced could leave its clause, or calls a function outside
	// the allowed list (see docs/TENANCY.md, threat model).
	ErrUnsafeSQL = scope.ErrUnsafeSQL
)

// WithTenant returns ctx with a viewer for tenantID, keeping the actor. A
// blank id, or PlatformTenantID (whose rows are the shared catalog and
// platform records, not a tenant's), yields a context that is denied
// everything.
func WithTenant(ctx context.Context, tenantID string) context.Context {
	return scope.WithTenant(ctx, tenantID)
}

// WithSystem returns ctx with the platform's own viewer: creating tenants,
// the plan catalog, webhook intake, retention. It sees and writes every
// tenant's rows: use it only in platform jobs, never with a request's input
// deciding which tenant is touched without checking it.
func WithSystem(ctx context.Context) context.Context { return scope.WithSystem(ctx) }

// WithActor records who acts inside the current viewer.
func WithActor(ctx context.Context, typ ActorType, id string) context.Context {
	return scope.WithActor(ctx, typ, id)
}

// WithDeleted makes reads include soft-deleted rows (still only the
// viewer's tenant), for admin views and restore.
func WithDeleted(ctx context.Context) context.Context { return scope.WithDeleted(ctx) }

// WithHardDelete makes deletes remove rows for real (retention, erasure
// requests). Only the system viewer may use it: a tenant viewer's delete
// with it fails with ErrSystemOnly.
func WithHardDelete(ctx context.Context) context.Context { return scope.WithHardDelete(ctx) }

// FromContext returns the viewer of ctx; ok is false when there is none or
// it names no tenant and is not the system.
func FromContext(ctx context.Context) (Viewer, bool) { return scope.FromContext(ctx) }

// RequireSystem returns nil for the system viewer, ErrNoViewer without a
// viewer and ErrSystemOnly for a tenant viewer: the guard of operations
// only the platform may run (minting credits, moving orders).
func RequireSystem(ctx context.Context) error {
	v, ok := FromContext(ctx)
	switch {
	case !ok:
		return ErrNoViewer
	case !v.System:
		return ErrSystemOnly
	}
	return nil
}

// IsTenantID reports whether id can name a tenant for the system viewer's
// calls that take one (ledger postings, billing orders): not blank, not
// padded, not the platform's own id.
func IsTenantID(id string) bool {
	return id != "" && id == strings.TrimSpace(id) && id != PlatformTenantID
}
