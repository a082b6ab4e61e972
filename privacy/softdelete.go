package privacy

import (
	"context"
	"fmt"
	"time"

	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/mixin"

	"github.com/leadmetrics/db/internal/runtime/scope"
)

// SoftDeleteMixin makes deletes set deleted_at and reads hide deleted rows.
// WithDeleted shows them; WithHardDelete (system only) purges for real.
// A schema lists it after its tenancy mixin (Owned, TenantEntity, ...):
// the rewrite runs after the policy and the stamping hook.
type SoftDeleteMixin struct{ mixin.Schema }

// SoftDelete is the soft-delete mixin, beside Owned and the other
// constructors a schema takes its tenancy from.
func SoftDelete() SoftDeleteMixin { return SoftDeleteMixin{} }

// Annotations mark the schema for the code generator (edge predicates hide
// deleted neighbours too) and the coverage test.
func (SoftDeleteMixin) Annotations() []schema.Annotation {
	return []schema.Annotation{scope.SoftDeleteAnnotation{Enabled: true}}
}

// Hooks of the mixin.
func (SoftDeleteMixin) Hooks() []ent.Hook { return []ent.Hook{softDelete} }

// softDelete rewrites a delete into an update of deleted_at on live rows.
// The update runs directly (scope.Node.ExecUpdate), not through the client:
// the policy and the hooks before this one already ran for the delete, and
// must not run a second time. Hooks after it in the chain do not run for a
// soft delete. Deleting a row already deleted matches nothing: DeleteOne
// reports not found. Updates leave deleted rows alone unless WithDeleted
// (restore: UpdateOne(...).ClearDeletedAt() under WithDeleted).
func softDelete(next ent.Mutator) ent.Mutator {
	return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
		w, ok := m.(interface{ SetOp(ent.Op) })
		if !ok {
			return nil, fmt.Errorf("privacy: soft delete: unexpected mutation %T", m)
		}
		op := m.Op()
		if !op.Is(ent.OpDelete | ent.OpDeleteOne) {
			return next.Mutate(ctx, m) // updates skip deleted rows: the sealed scope (internal/runtime/scope)
		}
		v, ok := scope.FromContext(ctx)
		if !ok {
			return nil, scope.ErrNoViewer
		}
		if scope.HardDelete(ctx) {
			if !v.System {
				return nil, fmt.Errorf("%w: hard delete of %s", scope.ErrSystemOnly, m.Type())
			}
			return next.Mutate(ctx, m)
		}
		n, ok := scope.Lookup(m.Type())
		if !ok {
			return nil, fmt.Errorf("privacy: entity %s is not registered", m.Type())
		}
		if err := m.SetField(scope.ColumnDeletedAt, time.Now()); err != nil {
			return nil, err
		}
		w.SetOp(ent.OpUpdate) // ExecUpdate runs a bulk update; DeleteOne counts rows
		return n.ExecUpdate(scope.WithoutDeleted(ctx), m)
	})
}
