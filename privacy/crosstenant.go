package privacy

import (
	"context"
	"fmt"

	"entgo.io/ent"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/leadmetrics/db/internal/runtime/scope"
)

// refs lists, for each edge m sets, the rows it points to and the tenant
// they must belong to: owner, or the platform for shared entities. Rows of
// a shared entity (the catalog, written by the system) may point anywhere.
func refs(m ent.Mutation, owner string) ([]scope.Ref, *scope.Node, error) {
	n, ok := scope.Lookup(m.Type())
	if !ok {
		return nil, nil, fmt.Errorf("privacy: entity %s is not registered (forgotten import of ent?)", m.Type())
	}
	if n.Kind == scope.KindShared {
		return nil, n, nil
	}
	var out []scope.Ref
	for _, name := range m.AddedEdges() {
		e, ok := n.Edges[name]
		if !ok {
			return nil, nil, fmt.Errorf("privacy: unknown edge %s.%s", m.Type(), name)
		}
		target, ok := scope.Lookup(e.Type)
		if !ok {
			return nil, nil, fmt.Errorf("privacy: entity %s is not registered", e.Type)
		}
		r := scope.Ref{Edge: m.Type() + "." + name, Table: target.Table, Owner: owner}
		if target.Kind == scope.KindShared {
			r.Owner = scope.PlatformTenantID
		}
		for _, id := range m.AddedIDs(name) {
			s, ok := id.(string)
			if !ok {
				return nil, nil, fmt.Errorf("privacy: id %v of edge %s is not a string", id, r.Edge)
			}
			r.IDs = append(r.IDs, s)
		}
		out = append(out, r)
	}
	return out, n, nil
}

// checkCreate verifies the edges of a created row belong to its tenant:
// one query per edge, or deferred to the batch's single check when the row
// is part of a CreateBulk.
func checkCreate(ctx context.Context, m ent.Mutation, owner string) error {
	rs, n, err := refs(m, owner)
	if err != nil || len(rs) == 0 {
		return err
	}
	if scope.Defer(ctx, m, rs) {
		return nil
	}
	return scope.CheckRefs(ctx, n.Driver(m), rs)
}

// checkUpdate verifies the edges an update adds. A tenant viewer's update
// touches only its rows (the policy filtered it), so they must point to its
// tenant. The system viewer's update may span tenants: its rows must all
// belong to one tenant, and the edges to that tenant (two more queries, on
// the system path only).
func checkUpdate(ctx context.Context, v scope.Viewer, m ent.Mutation) error {
	if len(m.AddedEdges()) == 0 {
		return nil
	}
	owner := v.TenantID
	if v.System {
		var err error
		if owner, err = rowsOwner(ctx, m); err != nil || owner == "" {
			return err
		}
	}
	rs, n, err := refs(m, owner)
	if err != nil || len(rs) == 0 {
		return err
	}
	return scope.CheckRefs(ctx, n.Driver(m), rs)
}

// rowsOwner returns the single tenant of the rows an update targets ("" if
// none).
func rowsOwner(ctx context.Context, m ent.Mutation) (string, error) {
	ider, ok := m.(interface {
		IDs(context.Context) ([]string, error)
	})
	if !ok {
		return "", fmt.Errorf("privacy: mutation %T cannot list its rows", m)
	}
	ids, err := ider.IDs(ctx)
	if err != nil || len(ids) == 0 {
		return "", err
	}
	n, _ := scope.Lookup(m.Type())
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	query, qargs := entsql.Dialect("postgres").Select(entsql.Distinct(scope.ColumnTenantID)).
		From(entsql.Table(n.Table)).Where(entsql.In(scope.ColumnID, args...)).Query()
	var rows entsql.Rows
	if err := n.Driver(m).Query(ctx, query, qargs, &rows); err != nil {
		return "", err
	}
	defer rows.Close()
	var owners []string
	if err := entsql.ScanSlice(&rows, &owners); err != nil {
		return "", err
	}
	if len(owners) != 1 {
		return "", fmt.Errorf("%w: an update that sets edges must target rows of one tenant, got %d", scope.ErrCrossTenantRef, len(owners))
	}
	return owners[0], nil
}
