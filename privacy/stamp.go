package privacy

import (
	"context"
	"fmt"

	"entgo.io/ent"

	"github.com/leadmetrics/db/internal/runtime/scope"
)

// stampHook stamps tenant_id on create and checks every edge a create or
// update sets (crosstenant.go). It runs after the policy (rules.go), which
// already refused a tenant viewer's foreign tenant_id; here the value is
// set, so a create never relies on the caller.
func stampHook(kind scope.Kind) ent.Hook {
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
				return nil, cerr // the upsert guard chain refused (scope.GuardConflict)
			}
			return out, err
		})
	}
}

// stamp sets tenant_id of a created row and returns it (scope.CreateOwner).
func stamp(v scope.Viewer, kind scope.Kind, m ent.Mutation) (string, error) {
	want, err := scope.CreateOwner(v, kind, m)
	if err != nil {
		return "", err
	}
	if err := m.SetField(scope.ColumnTenantID, want); err != nil {
		return "", err
	}
	return want, nil
}
