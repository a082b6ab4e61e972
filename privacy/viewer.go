// Package privacy carries who is calling (the viewer) in the context and
// enforces tenant isolation through Ent privacy policies.
package privacy

import (
	"context"
	"errors"
	"strings"
)

// PlatformTenantID owns the platform's shared rows (the plan catalog).
const PlatformTenantID = "platform"

// ActorType says what kind of principal acts.
type ActorType string

// Actor types, as recorded in audit logs.
const (
	ActorUser   ActorType = "user"
	ActorAgent  ActorType = "agent"
	ActorSystem ActorType = "system"
)

// Actor is who acts within a viewer, for audit.
type Actor struct {
	Type ActorType
	ID   string
}

// Viewer is the identity a query or mutation runs as: one tenant, or the
// platform itself (System).
type Viewer struct {
	TenantID string // empty for the system viewer
	System   bool
	Actor    Actor
}

// Typed errors callers test with errors.Is.
var (
	ErrNoViewer       = errors.New("privacy: no viewer in context")
	ErrTenantMismatch = errors.New("privacy: tenant does not match the viewer")
	ErrCrossTenantRef = errors.New("privacy: reference to another tenant's row")
	ErrImmutable      = errors.New("privacy: entity is immutable")
	ErrSystemOnly     = errors.New("privacy: operation reserved to the system viewer")
)

type viewerKey struct{}

// WithTenant returns ctx with a viewer for tenantID. An empty or blank id
// yields a context that is denied everything.
func WithTenant(ctx context.Context, tenantID string) context.Context {
	v := Viewer{TenantID: strings.TrimSpace(tenantID)}
	if prev, ok := FromContext(ctx); ok {
		v.Actor = prev.Actor
	}
	return context.WithValue(ctx, viewerKey{}, v)
}

// WithSystem returns ctx with the platform's own viewer: creating tenants,
// the plan catalog, webhook intake, retention. Use it only in platform jobs.
func WithSystem(ctx context.Context) context.Context {
	return context.WithValue(ctx, viewerKey{}, Viewer{System: true, Actor: Actor{Type: ActorSystem}})
}

// WithActor records who acts inside the current viewer.
func WithActor(ctx context.Context, typ ActorType, id string) context.Context {
	v, _ := FromContext(ctx)
	v.Actor = Actor{Type: typ, ID: id}
	return context.WithValue(ctx, viewerKey{}, v)
}

// FromContext returns the viewer of ctx; ok is false when there is none or
// it names no tenant and is not the system.
func FromContext(ctx context.Context) (Viewer, bool) {
	v, _ := ctx.Value(viewerKey{}).(Viewer)
	return v, v.System || v.TenantID != ""
}
