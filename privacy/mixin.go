package privacy

import (
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/mixin"

	entprivacy "github.com/leadmetrics/db/ent/privacy"
	"github.com/leadmetrics/db/internal/runtime/scope"
)

// Mixin puts an entity under tenant isolation: the policy (deny without a
// viewer; writes limited to the viewer's tenant or to the system), tenant
// stamping and the cross-tenant check on writes, and the annotation from
// which the generated code scopes every statement (reads, traversals, edge
// predicates, updates and deletes: internal/runtime/scope/seal.go). Every
// schema uses one, through the constructors below.
type Mixin struct {
	mixin.Schema
	kind scope.Kind // whom the rows belong to; empty (Mixin{}) means owned
	// systemOps are the operations only the system viewer may run.
	systemOps ent.Op
	// systemFields are fields only the system viewer may set or clear.
	systemFields []string
	// immutable refuses update and delete to every viewer (append-only).
	immutable bool
}

// allWrites is every mutation operation.
const allWrites = ent.OpCreate | ent.OpUpdate | ent.OpUpdateOne | ent.OpDelete | ent.OpDeleteOne

// Owned is the mixin of an entity owned by one tenant, read and written by
// that tenant's viewer.
func Owned() Mixin { return Mixin{kind: scope.KindOwned} }

// TenantEntity is the mixin of the Tenant entity: a tenant viewer reads and
// updates its own row only (not fields), only the system creates and
// deletes tenants; tenant_id is the row's own id.
func TenantEntity(systemFields ...string) Mixin {
	return Mixin{kind: scope.KindTenant, systemOps: ent.OpCreate | ent.OpDelete | ent.OpDeleteOne, systemFields: systemFields}
}

// Shared is the mixin of a platform catalog: readable by every tenant,
// written only by the system; rows belong to PlatformTenantID.
func Shared() Mixin { return Mixin{kind: scope.KindShared, systemOps: allWrites} }

// SystemWritten is the mixin of tenant rows that tenants read but only the
// system (or a package with its own raw SQL path) writes.
func SystemWritten() Mixin { return Mixin{kind: scope.KindOwned, systemOps: allWrites} }

// AppendOnly is the mixin of an immutable tenant entity: update and delete
// are refused to everyone; systemCreates reserves creation to the system.
func AppendOnly(systemCreates bool) Mixin {
	m := Mixin{kind: scope.KindOwned, immutable: true}
	if systemCreates {
		m.systemOps = ent.OpCreate
	}
	return m
}

func (x Mixin) owner() scope.Kind {
	if x.kind == "" {
		return scope.KindOwned
	}
	return x.kind
}

// Policy of the mixin: see rules.go.
func (x Mixin) Policy() ent.Policy {
	return entprivacy.Policy{
		Query:    entprivacy.QueryPolicy{DenyIfNoViewer()},
		Mutation: entprivacy.MutationPolicy{x.mutationRule()},
	}
}

// Hooks of the mixin: tenant stamping and the cross-tenant check. They run
// after the policy (privacy's hook is the first schema hook).
// The Tenant entity also drops the lifecycle gate's cache on every change.
func (x Mixin) Hooks() []ent.Hook {
	if x.owner() == scope.KindTenant {
		return []ent.Hook{stampHook(x.owner()), invalidateOnTenantChange()}
	}
	return []ent.Hook{stampHook(x.owner())}
}

// Annotations of the mixin, for the code generator and the coverage test.
func (x Mixin) Annotations() []schema.Annotation {
	return []schema.Annotation{scope.Annotation{Kind: x.owner(), Immutable: x.immutable}}
}
