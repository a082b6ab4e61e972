package hooks

import (
	"context"
	"fmt"

	"entgo.io/ent"

	"github.com/leadmetrics/db/internal/scope"
)

// Tenant returns the hook that stamps tenant_id on create and checks every
// edge a create or update sets (crosstenant.go). It runs after the privacy
// policy, which already refused a tenant viewer's foreign tenant_id; here
// the value is set, so a create never relies on the caller.
func Tenant(kind scope.Kind) ent.Hook {
	return func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			v, ok := scope.FromContext(ctx)
			if !ok {
				return nil, scope.ErrNoViewer
			}
			switch op := m.Op(); {
			case op.Is(ent.OpCreate):
				owner, err := stamp(v, kind, m)
				if err != nil {
					return nil, err
				}
				if err := checkCreate(ctx, m, owner); err != nil {
					return nil, err
				}
			case op.Is(ent.OpUpdate | ent.OpUpdateOne):
				if _, ok := m.Field(scope.ColumnTenantID); ok {
					return nil, fmt.Errorf("%w: tenant_id of %s never changes", scope.ErrImmutable, m.Type())
				}
				if err := checkUpdate(ctx, v, m); err != nil {
					return nil, err
				}
			}
			out, err := next.Mutate(ctx, m)
			if cerr := scope.ConflictError(err); cerr != nil {
				return nil, cerr // the upsert guard refused (see scope.GuardConflict)
			}
			return out, err
		})
	}
}

// stamp sets tenant_id of a created row and returns it: the viewer's tenant
// for a tenant viewer; for the system viewer, the caller's explicit value
// (owned rows), the row's own id (tenants) or the platform (shared rows).
func stamp(v scope.Viewer, kind scope.Kind, m ent.Mutation) (string, error) {
	given, hasGiven := m.Field(scope.ColumnTenantID)
	givenID, _ := given.(string)
	var want string
	switch kind {
	case scope.KindTenant:
		id, ok := m.(interface{ ID() (string, bool) }).ID()
		if !ok || id == "" {
			return "", fmt.Errorf("%w: tenant created without an id", scope.ErrTenantMismatch)
		}
		want = id
	case scope.KindShared:
		want = scope.PlatformTenantID
	default:
		want = v.TenantID
		if v.System {
			if !hasGiven || givenID == "" {
				return "", fmt.Errorf("%w: the system viewer must set tenant_id on %s", scope.ErrTenantMismatch, m.Type())
			}
			want = givenID
		}
	}
	if hasGiven && givenID != want {
		return "", fmt.Errorf("%w: create %s", scope.ErrTenantMismatch, m.Type())
	}
	if err := m.SetField(scope.ColumnTenantID, want); err != nil {
		return "", err
	}
	return want, nil
}
