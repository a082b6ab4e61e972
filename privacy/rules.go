package privacy

import (
	"context"
	"fmt"
	"slices"

	"entgo.io/ent"

	entprivacy "github.com/leadmetrics/db/ent/privacy"
	"github.com/leadmetrics/db/internal/runtime/scope"
)

// deny refuses with Ent's Deny decision and the typed cause.
func deny(cause error, format string, a ...any) error {
	return fmt.Errorf("%w: %w: "+format, append([]any{entprivacy.Deny, cause}, a...)...)
}

// DenyIfNoViewer refuses every query without a viewer; reads by a viewer
// are allowed, and the generated code confines them to the viewer's rows
// (internal/runtime/scope/seal.go).
func DenyIfNoViewer() entprivacy.QueryRule {
	return entprivacy.QueryRuleFunc(func(ctx context.Context, q ent.Query) error {
		if _, ok := FromContext(ctx); !ok {
			return deny(ErrNoViewer, "query")
		}
		return entprivacy.Allow
	})
}

// mutationRule decides every write: no viewer, immutable entities and
// system-only operations are refused; a tenant viewer creates only for its
// tenant. The generated update and delete statements confine the rows they
// touch to the viewer's (internal/runtime/scope/seal.go).
func (x Mixin) mutationRule() entprivacy.MutationRule {
	return entprivacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
		v, ok := FromContext(ctx)
		op := m.Op()
		switch {
		case !ok:
			return deny(ErrNoViewer, "%s %s", op, m.Type())
		case x.immutable && op.Is(ent.OpUpdate|ent.OpUpdateOne|ent.OpDelete|ent.OpDeleteOne):
			return deny(ErrImmutable, "%s %s", op, m.Type())
		case v.System:
			return entprivacy.Allow
		case op.Is(x.systemOps):
			return deny(ErrSystemOnly, "%s %s", op, m.Type())
		}
		if err := checkLifecycle(ctx, v, m); err != nil {
			return deny(err, "%s %s", op, m.Type())
		}
		if op.Is(ent.OpCreate) {
			if t, ok := m.Field(scope.ColumnTenantID); ok && t != v.TenantID {
				return deny(ErrTenantMismatch, "create %s", m.Type())
			}
			return entprivacy.Allow
		}
		if _, ok := m.Field(scope.ColumnTenantID); ok {
			return deny(ErrImmutable, "tenant_id of %s", m.Type())
		}
		// Checked on updates only: defaults fill such fields on every create,
		// and creates of entities with system fields are system-only.
		// Whoever may not delete may not soft-delete or restore either: the
		// delete rewrite itself runs below the policy.
		system := x.systemFields
		if x.systemOps&(ent.OpDelete|ent.OpDeleteOne) != 0 {
			system = append(slices.Clip(system), scope.ColumnDeletedAt)
		}
		for _, f := range append(m.Fields(), m.ClearedFields()...) {
			if slices.Contains(system, f) {
				return deny(ErrSystemOnly, "field %s of %s", f, m.Type())
			}
		}
		return entprivacy.Allow
	})
}
