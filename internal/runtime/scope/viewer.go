// Package scope is the dependency-free core of tenant isolation: the viewer
// in the context, the registry of entities the generated code fills in, and
// the sealing of caller SQL behind the tenant scope (seal.go), shared by
// queries, edge predicates, updates, deletes and checks. Services use
// it through the privacy package; the generated ent code imports it
// directly, which those packages cannot allow (they import ent).
package scope

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

// Typed errors callers test with errors.Is (re-exported by privacy).
var (
	ErrNoViewer       = errors.New("privacy: no viewer in context")
	ErrTenantMismatch = errors.New("privacy: tenant does not match the viewer")
	ErrCrossTenantRef = errors.New("privacy: reference to another tenant's row")
	ErrImmutable      = errors.New("privacy: entity is immutable")
	ErrSystemOnly     = errors.New("privacy: operation reserved to the system viewer")
	// ErrTenantInactive: the viewer's tenant does not exist, is
	// soft-deleted, suspended or closed; its writes are refused.
	ErrTenantInactive = errors.New("privacy: tenant does not exist or is not active")
)

type viewerKey struct{}

// The functions below are privacy's (WithTenant, WithSystem, ...), which
// document what they do for services: privacy re-exports them, since the
// generated code, which privacy imports, reads the viewer here.

// WithTenant is privacy.WithTenant.
func WithTenant(ctx context.Context, tenantID string) context.Context {
	v := Viewer{TenantID: strings.TrimSpace(tenantID)}
	if v.TenantID == PlatformTenantID {
		v.TenantID = ""
	}
	if prev, ok := ctx.Value(viewerKey{}).(Viewer); ok {
		v.Actor = prev.Actor
	}
	return context.WithValue(ctx, viewerKey{}, v)
}

// WithSystem is privacy.WithSystem.
func WithSystem(ctx context.Context) context.Context {
	return context.WithValue(ctx, viewerKey{}, Viewer{System: true, Actor: Actor{Type: ActorSystem}})
}

// WithActor is privacy.WithActor.
func WithActor(ctx context.Context, typ ActorType, id string) context.Context {
	v, _ := ctx.Value(viewerKey{}).(Viewer)
	v.Actor = Actor{Type: typ, ID: id}
	return context.WithValue(ctx, viewerKey{}, v)
}

// FromContext is privacy.FromContext.
func FromContext(ctx context.Context) (Viewer, bool) {
	v, _ := ctx.Value(viewerKey{}).(Viewer)
	return v, v.System || v.TenantID != ""
}

type (
	deletedKey    struct{}
	hardDeleteKey struct{}
)

// WithDeleted is privacy.WithDeleted.
func WithDeleted(ctx context.Context) context.Context {
	return context.WithValue(ctx, deletedKey{}, true)
}

// IncludeDeleted reports whether ctx asks for soft-deleted rows.
func IncludeDeleted(ctx context.Context) bool {
	b, _ := ctx.Value(deletedKey{}).(bool)
	return b
}

// WithHardDelete is privacy.WithHardDelete.
func WithHardDelete(ctx context.Context) context.Context {
	return context.WithValue(ctx, hardDeleteKey{}, true)
}

// HardDelete reports whether ctx asks for a real delete.
func HardDelete(ctx context.Context) bool {
	b, _ := ctx.Value(hardDeleteKey{}).(bool)
	return b
}

// WithoutDeleted undoes WithDeleted: the soft-delete rewrite never matches
// a row that is already deleted.
func WithoutDeleted(ctx context.Context) context.Context {
	return context.WithValue(ctx, deletedKey{}, false)
}
