package scope

import (
	"context"
	"fmt"

	"entgo.io/ent/dialect/sql"
)

// Column names every entity has (the base mixin).
const (
	ColumnID        = "id"
	ColumnTenantID  = "tenant_id"
	ColumnDeletedAt = "deleted_at"
)

// TenantPredicate limits a read of kind k to what the viewer of ctx may
// see: its own rows (or the platform's, for shared entities); everything
// for the system viewer (nil predicate). No viewer is an error.
func TenantPredicate(ctx context.Context, k Kind) (func(*sql.Selector), error) {
	v, ok := FromContext(ctx)
	switch {
	case !ok:
		return nil, ErrNoViewer
	case v.System:
		return nil, nil
	case k == KindShared:
		return sql.FieldEQ(ColumnTenantID, PlatformTenantID), nil
	default:
		return sql.FieldEQ(ColumnTenantID, v.TenantID), nil
	}
}

// LivePredicate hides soft-deleted rows unless ctx asks for them (nil).
func LivePredicate(ctx context.Context) func(*sql.Selector) {
	if IncludeDeleted(ctx) {
		return nil
	}
	return sql.FieldIsNull(ColumnDeletedAt)
}

// Neighbors restricts the rows matched inside an edge predicate
// (HasXWith) to what the viewer may read of entity typ. The generated
// where.go calls it for every edge, because Ent applies no interceptor
// there (ent#4450); the viewer comes from the selector's context, which
// the generated queries always set.
func Neighbors(s *sql.Selector, typ string) {
	n, ok := Lookup(typ)
	if !ok || n.Kind == "" {
		return // unprotected entity: the coverage test forbids these
	}
	ctx := s.Context()
	p, err := TenantPredicate(ctx, n.Kind)
	if err != nil {
		s.AddError(fmt.Errorf("%w (edge predicate on %s)", err, typ))
		return
	}
	if p != nil {
		p(s)
	}
	if n.SoftDelete {
		if p := LivePredicate(ctx); p != nil {
			p(s)
		}
	}
}
