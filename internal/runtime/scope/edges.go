package scope

import (
	"context"
	"database/sql/driver"
	"fmt"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqlgraph"
)

// Edges held by the other table (O2M, and O2O from the side without the
// foreign key): sqlgraph writes them with UPDATE <other> SET fk = ... WHERE
// id IN (...), without the tenant. CreateNode, BatchCreate, UpdateNode and
// UpdateNodes (called by the generated code in place of sqlgraph's) write
// those edges themselves with tenant_id = <tenant> in the WHERE clause, in
// the write's transaction: a viewer's edge statement cannot touch another
// tenant's row, and on Citus it routes to the tenant's shard instead of
// every shard. The tenant is the viewer's; for the system viewer, the
// created row's own (an update by the system viewer may span tenants: its
// edge statements stay Ent's). Edges to rows that are not tenant-owned
// (tenants, the plan catalog) stay Ent's too.

// CreateNode is sqlgraph.CreateNode, with the edges held by other tables
// kept in the tenant.
func CreateNode(ctx context.Context, drv dialect.Driver, spec *sqlgraph.CreateSpec) error {
	fks := splitEdges(&spec.Edges, edgeTenant(ctx, spec.Fields))
	if fks == nil {
		return createNode(ctx, drv, spec)
	}
	return inTx(ctx, drv, func(tx dialect.Driver) error {
		if err := sqlgraph.CreateNode(ctx, tx, spec); err != nil {
			return err
		}
		return fks.add(ctx, tx, []driver.Value{spec.ID.Value})
	})
}

// BatchCreate is sqlgraph.BatchCreate, with the edges held by other tables
// kept in the tenant.
func BatchCreate(ctx context.Context, drv dialect.Driver, spec *sqlgraph.BatchCreateSpec) error {
	fks := make([]*fkEdges, len(spec.Nodes))
	split := false
	for i, n := range spec.Nodes {
		fks[i] = splitEdges(&n.Edges, edgeTenant(ctx, n.Fields))
		split = split || fks[i] != nil
	}
	if !split {
		return sqlgraph.BatchCreate(ctx, drv, spec)
	}
	return inTx(ctx, drv, func(tx dialect.Driver) error {
		if err := sqlgraph.BatchCreate(ctx, tx, spec); err != nil {
			return err
		}
		for i, n := range spec.Nodes {
			if err := fks[i].add(ctx, tx, []driver.Value{n.ID.Value}); err != nil {
				return err
			}
		}
		return nil
	})
}

// UpdateNode is sqlgraph.UpdateNode, with the edges held by other tables
// kept in the tenant.
func UpdateNode(ctx context.Context, drv dialect.Driver, spec *sqlgraph.UpdateSpec) error {
	tenant := edgeTenant(ctx, nil)
	add, clear := splitEdges(&spec.Edges.Add, tenant), splitEdges(&spec.Edges.Clear, tenant)
	if add == nil && clear == nil || spec.Node.ID == nil {
		spec.Edges.Add, spec.Edges.Clear = add.restore(spec.Edges.Add), clear.restore(spec.Edges.Clear)
		return sqlgraph.UpdateNode(ctx, drv, spec)
	}
	return inTx(ctx, drv, func(tx dialect.Driver) error {
		if err := sqlgraph.UpdateNode(ctx, tx, spec); err != nil {
			return err
		}
		ids := []driver.Value{spec.Node.ID.Value}
		if err := clear.clear(ctx, tx, ids); err != nil {
			return err
		}
		return add.add(ctx, tx, ids)
	})
}

// UpdateNodes is sqlgraph.UpdateNodes, with the edges held by other tables
// kept in the tenant. Like Ent, it reads the ids of the matching rows
// first, updates those and returns how many there were.
func UpdateNodes(ctx context.Context, drv dialect.Driver, spec *sqlgraph.UpdateSpec) (int, error) {
	tenant := edgeTenant(ctx, nil)
	add, clear := splitEdges(&spec.Edges.Add, tenant), splitEdges(&spec.Edges.Clear, tenant)
	if add == nil && clear == nil || spec.Node.ID == nil {
		spec.Edges.Add, spec.Edges.Clear = add.restore(spec.Edges.Add), clear.restore(spec.Edges.Clear)
		return sqlgraph.UpdateNodes(ctx, drv, spec)
	}
	var affected int
	err := inTx(ctx, drv, func(tx dialect.Driver) error {
		ids, err := matchingIDs(ctx, tx, spec)
		if err != nil || len(ids) == 0 {
			return err
		}
		pred := spec.Predicate
		spec.Predicate = func(s *sql.Selector) {
			if pred != nil {
				pred(s)
			}
			s.Where(sql.InValues(s.C(spec.Node.ID.Column), ids...))
		}
		if _, err := sqlgraph.UpdateNodes(ctx, tx, spec); err != nil {
			return err
		}
		if err := clear.clear(ctx, tx, ids); err != nil {
			return err
		}
		if err := add.add(ctx, tx, ids); err != nil {
			return err
		}
		affected = len(ids)
		return nil
	})
	return affected, err
}

// edgeTenant is the tenant the edge statements of a write by ctx's viewer
// name: the viewer's, else (system viewer) the tenant_id among fields, the
// created row's; "" when neither.
func edgeTenant(ctx context.Context, fields []*sqlgraph.FieldSpec) string {
	v, ok := FromContext(ctx)
	if !ok {
		return ""
	}
	if !v.System {
		return v.TenantID
	}
	for _, f := range fields {
		if s, ok := f.Value.(string); ok && f.Column == ColumnTenantID {
			return s
		}
	}
	return ""
}

// fkEdges are the edges of one write that update another tenant-owned
// table, and the tenant they stay in.
type fkEdges struct {
	tenant string
	edges  []*sqlgraph.EdgeSpec
}

// splitEdges moves out of *edges those held by another tenant-owned table,
// to be written in tenant; nil when there are none (or no tenant).
func splitEdges(edges *[]*sqlgraph.EdgeSpec, tenant string) *fkEdges {
	if tenant == "" {
		return nil
	}
	var fks []*sqlgraph.EdgeSpec
	keep := (*edges)[:0:0]
	for _, e := range *edges {
		if heldByOther(e) {
			fks = append(fks, e)
		} else {
			keep = append(keep, e)
		}
	}
	if len(fks) == 0 {
		return nil
	}
	*edges = keep
	return &fkEdges{tenant: tenant, edges: fks}
}

// heldByOther reports whether sqlgraph writes e by updating e.Table's
// foreign key (O2M, or O2O seen from the side without the key) and that
// table's rows belong to tenants.
func heldByOther(e *sqlgraph.EdgeSpec) bool {
	if e.Bidi || !(e.Rel == sqlgraph.O2M || e.Rel == sqlgraph.O2O && !e.Inverse) {
		return false
	}
	n, ok := LookupTable(e.Table)
	return ok && n.Kind == KindOwned
}

// restore puts the split edges back (the write goes to sqlgraph as is).
func (f *fkEdges) restore(edges []*sqlgraph.EdgeSpec) []*sqlgraph.EdgeSpec {
	if f == nil {
		return edges
	}
	return append(edges, f.edges...)
}

// clear is sqlgraph's clearFKEdges with the tenant: unlink the target rows
// (all of them when the edge names none) from the nodes ids.
func (f *fkEdges) clear(ctx context.Context, tx dialect.Driver, ids []driver.Value) error {
	if f == nil {
		return nil
	}
	for _, e := range f.edges {
		pred := sql.InValues(e.Columns[0], ids...)
		if nodes := e.Target.Nodes; len(nodes) > 0 {
			pred = sql.And(sql.InValues(e.Target.IDSpec.Column, nodes...), pred)
		}
		query, args := sql.Dialect(tx.Dialect()).Update(e.Table).Schema(e.Schema).
			SetNull(e.Columns[0]).
			Where(sql.And(sql.EQ(ColumnTenantID, f.tenant), pred)).
			Query()
		if err := tx.Exec(ctx, query, args, nil); err != nil {
			return fmt.Errorf("add %s edge for table %s: %w", e.Rel, e.Table, err)
		}
	}
	return nil
}

// add is sqlgraph's addFKEdges with the tenant: link the target rows, which
// must be unlinked, to the one node of ids.
func (f *fkEdges) add(ctx context.Context, tx dialect.Driver, ids []driver.Value) error {
	if f == nil {
		return nil
	}
	if len(ids) > 1 {
		return fmt.Errorf("unable to link FK edge to more than 1 node: %v", ids)
	}
	for _, e := range f.edges {
		query, args := sql.Dialect(tx.Dialect()).Update(e.Table).Schema(e.Schema).
			Set(e.Columns[0], ids[0]).
			Where(sql.And(sql.EQ(ColumnTenantID, f.tenant),
				sql.InValues(e.Target.IDSpec.Column, e.Target.Nodes...), sql.IsNull(e.Columns[0]))).
			Query()
		var res sql.Result
		if err := tx.Exec(ctx, query, args, &res); err != nil {
			return fmt.Errorf("add %s edge for table %s: %w", e.Rel, e.Table, err)
		}
		affected, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if int(affected) < len(e.Target.Nodes) {
			return &edgeLinkedError{fmt.Sprintf("one of %v is already connected to a different %s", e.Target.Nodes, e.Columns[0])}
		}
	}
	return nil
}

// edgeLinkedError is sqlgraph's constraint error for an edge target that is
// linked already (or not the tenant's); sqlgraph.IsConstraintError sees it.
type edgeLinkedError struct{ msg string }

func (e *edgeLinkedError) Error() string { return e.msg }
func (e *edgeLinkedError) Unwrap() error { return &sqlgraph.ConstraintError{} }

// matchingIDs reads the ids of the rows spec's predicate matches.
func matchingIDs(ctx context.Context, tx dialect.Driver, spec *sqlgraph.UpdateSpec) ([]driver.Value, error) {
	sel := sql.Dialect(tx.Dialect()).Select().From(sql.Table(spec.Node.Table).Schema(spec.Node.Schema)).WithContext(ctx)
	sel.Select(sel.C(spec.Node.ID.Column))
	if spec.Predicate != nil {
		spec.Predicate(sel)
	}
	query, args := sel.Query()
	rows := &sql.Rows{}
	if err := tx.Query(ctx, query, args, rows); err != nil {
		return nil, fmt.Errorf("querying table %s: %w", spec.Node.Table, err)
	}
	defer rows.Close()
	var ids []driver.Value
	if err := sql.ScanSlice(rows, &ids); err != nil {
		return nil, fmt.Errorf("scan node ids: %w", err)
	}
	return ids, rows.Close()
}

// inTx runs fn on a transaction of drv (drv's own when it is one already).
func inTx(ctx context.Context, drv dialect.Driver, fn func(dialect.Driver) error) error {
	tx, err := drv.Tx(ctx)
	if err != nil {
		return err
	}
	if err := fn(txDriver{tx: tx, dialect: drv.Dialect()}); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			err = fmt.Errorf("%w: %v", err, rerr)
		}
		return err
	}
	return tx.Commit()
}

// txDriver runs sqlgraph's statements on an open transaction: their own
// transactions nest as no-ops.
type txDriver struct {
	tx      dialect.Tx
	dialect string
}

func (d txDriver) Exec(ctx context.Context, query string, args, v any) error {
	return d.tx.Exec(ctx, query, args, v)
}

func (d txDriver) Query(ctx context.Context, query string, args, v any) error {
	return d.tx.Query(ctx, query, args, v)
}

func (d txDriver) Tx(context.Context) (dialect.Tx, error) { return dialect.NopTx(d), nil }
func (d txDriver) Close() error                           { return nil }
func (d txDriver) Dialect() string                        { return d.dialect }
