package scope

import (
	"context"
	"fmt"
	"strings"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqlgraph"
)

// Sealing: the generated code never lets a caller's function touch the
// selector a statement is built from. Predicates, order and aggregate
// functions run on throwaway selectors; what they produce is rendered once,
// vetted and rewritten by PostgreSQL's grammar (fragment.go, grammar.go)
// and frozen; the statement then gets the tenant and soft-delete conjuncts
// from the context plus the frozen caller SQL. Pending
// Not/Or, SetP, CollectPredicates, From, joins, unions or selections a
// caller leaves behind stay on the throwaway. Modify is the one documented
// escape hatch: modifiers still run on the real selector.

// Sealed is a query's caller predicates and orders, frozen for one
// execution under one viewer (the generated prepareQuery makes it).
type Sealed struct {
	ctx    context.Context
	node   *Node
	where  *frozen
	order  []*frozen
	err    error // a refusal: the statement carries it and never runs
	nPreds int   // how many predicates and orders were sealed (Stale)
	nOrder int
}

// SealQuery runs the predicates and order functions of a query of entity
// typ on throwaway selectors and freezes what they produce. On error the
// returned Sealed still adds the error to any selector it is applied to.
func SealQuery[P, O ~func(*sql.Selector)](ctx context.Context, typ string, preds []P, orders []O) (*Sealed, error) {
	s := &Sealed{ctx: ctx, nPreds: len(preds), nOrder: len(orders)}
	s.err = sealInto(s, typ, preds, orders)
	return s, s.err
}

func sealInto[P, O ~func(*sql.Selector)](s *Sealed, typ string, preds []P, orders []O) error {
	n, err := viewerNode(s.ctx, typ)
	if err != nil {
		return err
	}
	s.node = n
	if s.where, err = sealPredicates(sandbox(s.ctx, n), preds, clauseFor(s.ctx, n, fragPredicate)); err != nil {
		return fmt.Errorf("%w (predicate on %s)", err, typ)
	}
	if s.order, err = sealOrders(s.ctx, n, orders); err != nil {
		return fmt.Errorf("%w (order of %s)", err, typ)
	}
	return nil
}

// Stale reports whether s was not sealed from nPreds predicates and nOrder
// orders (or is nil): an interceptor changed the query after prepareQuery.
func (s *Sealed) Stale(nPreds, nOrder int) bool {
	return s == nil || s.nPreds != nPreds || s.nOrder != nOrder
}

// Where adds the viewer's scope and the frozen caller predicates to sel.
func (s *Sealed) Where(sel *sql.Selector) {
	if s.err != nil {
		sel.AddError(s.err)
		return
	}
	applyScope(s.ctx, s.node, sel)
	if s.where != nil {
		sel.Where(s.where.predicate())
	}
}

// Order adds the frozen ORDER BY terms to sel.
func (s *Sealed) Order(sel *sql.Selector) {
	if s.err != nil {
		sel.AddError(s.err)
		return
	}
	for _, o := range s.order {
		sel.OrderExprFunc(o.build)
	}
}

// SealMutation freezes the predicates of an update or delete of entity typ
// and returns the predicate the statement gets: the viewer's scope and
// the frozen caller predicates; nil when there is nothing to add (Ent's
// update-by-id cannot take an empty predicate).
func SealMutation[P ~func(*sql.Selector)](ctx context.Context, typ string, preds []P) (func(*sql.Selector), error) {
	s, err := SealQuery[P, func(*sql.Selector)](ctx, typ, preds, nil)
	switch {
	case err != nil:
		return nil, err
	case s.where == nil && !scoped(ctx, s.node):
		return nil, nil
	}
	return s.Where, nil
}

// NeighborsWhere returns the predicate of an edge predicate's subquery
// (HasXWith) over entity typ: the caller's predicates on the neighbour, run
// on a throwaway, plus what the viewer may read of it. Ent runs no
// interceptor there (ent#4450); the viewer comes from the selector's
// context, which the generated queries always set. The subquery is caller
// SQL of the predicate that holds it, so it is vetted with it: the
// statement's sealing renders the whole predicate once and the grammar
// scopes every relation in it, this one included.
func NeighborsWhere[P ~func(*sql.Selector)](typ string, preds []P) func(*sql.Selector) {
	return func(sel *sql.Selector) {
		ctx := sel.Context()
		n, err := viewerNode(ctx, typ)
		if err != nil {
			sel.AddError(fmt.Errorf("%w (edge predicate on %s)", err, typ))
			return
		}
		// A clone keeps the subquery's table alias, so the caller's columns
		// render as they would on the real selector.
		sb := sel.Clone().SetP(nil)
		for _, p := range preds {
			p(sb)
		}
		if err := sb.Err(); err != nil {
			sel.AddError(fmt.Errorf("%w (edge predicate on %s)", err, typ))
			return
		}
		applyScope(ctx, n, sel)
		if w := sb.P(); w != nil {
			sel.Where(sql.P(func(b *sql.Builder) { b.Wrap(func(b *sql.Builder) { b.Join(w) }) }))
		}
	}
}

// SameTenant returns, for an edge between two tenant-owned entities from
// and to, the predicate that a neighbour row (in the edge predicate's
// subquery) has the tenant of q's row; nil for other edges. The composite
// foreign keys make it true of every linked row, so it changes no result;
// it makes the subquery a join on tenant_id, which Citus runs co-located
// (one shard under a tenant viewer, one task per shard group for the
// system viewer) instead of refusing it.
func SameTenant(q *sql.Selector, from, to string) func(*sql.Selector) {
	f, ok1 := Lookup(from)
	t, ok2 := Lookup(to)
	if !ok1 || !ok2 || f.Kind != KindOwned || t.Kind != KindOwned {
		return nil
	}
	return func(n *sql.Selector) { n.Where(sql.ColumnsEQ(n.C(ColumnTenantID), q.C(ColumnTenantID))) }
}

// Aggregate runs aggregate functions (Select/GroupBy Aggregate) on
// throwaway copies of sel and returns their vetted expressions. Each is
// vetted as Ent would have rendered the caller's string in the select list
// (Builder.Ident), and goes into the statement as vetted.
func Aggregate[F ~func(*sql.Selector) string](sel *sql.Selector, fns []F) ([]sql.Querier, error) {
	if len(fns) == 0 {
		return nil, nil
	}
	n, ok := LookupTable(sel.TableName())
	if !ok {
		return nil, fmt.Errorf("%w: aggregate over %q, not an entity's table", ErrUnsafeSQL, sel.TableName())
	}
	c := clauseFor(sel.Context(), n, fragExpr)
	out := make([]sql.Querier, 0, len(fns))
	for _, fn := range fns {
		sb := sel.Clone()
		expr := fn(sb)
		if err := sb.Err(); err != nil {
			return nil, err
		}
		var b sql.Builder
		b.SetDialect(dialect.Postgres)
		f, err := vet(b.Ident(expr).String(), nil, c)
		if err != nil {
			return nil, fmt.Errorf("%w (aggregate)", err)
		}
		out = append(out, sql.ExprFunc(f.build))
	}
	return out, nil
}

// viewerNode returns the registry node of typ, refusing a context without
// a viewer, and an unprotected entity to a tenant viewer.
func viewerNode(ctx context.Context, typ string) (*Node, error) {
	v, ok := FromContext(ctx)
	if !ok {
		return nil, ErrNoViewer
	}
	n, ok := Lookup(typ)
	if !ok || (n.Kind == "" && !v.System) {
		return nil, fmt.Errorf("%w: entity %s has no tenancy (regenerate ent)", ErrNoViewer, typ)
	}
	return n, nil
}

// sandbox is a fresh selector over n's table, rendering columns as the
// statement's selector does, carrying ctx for nested edge predicates.
func sandbox(ctx context.Context, n *Node) *sql.Selector {
	return sql.Dialect(dialect.Postgres).Select().From(sql.Table(n.Table)).WithContext(ctx)
}

// sealPredicates runs preds on sb and freezes the WHERE they leave (nil
// when they leave none).
func sealPredicates[P ~func(*sql.Selector)](sb *sql.Selector, preds []P, c clause) (*frozen, error) {
	if len(preds) == 0 {
		return nil, nil
	}
	for _, p := range preds {
		p(sb)
	}
	if err := sb.Err(); err != nil {
		return nil, err
	}
	w := sb.P()
	if w == nil {
		return nil, nil
	}
	return freezePredicate(w, c)
}

// sealOrders runs order functions on a sandbox and freezes the ORDER BY
// terms it renders. Anything else they do shows in the rendering and is
// refused; so are joins (ordering by a neighbour's field needs Modify or
// the system viewer).
func sealOrders[O ~func(*sql.Selector)](ctx context.Context, n *Node, orders []O) ([]*frozen, error) {
	if len(orders) == 0 {
		return nil, nil
	}
	base, _ := sandbox(ctx, n).Query()
	sb := sandbox(ctx, n)
	for _, o := range orders {
		o(sb)
	}
	if err := sb.Err(); err != nil {
		return nil, err
	}
	if sb.HasJoins() {
		return nil, fmt.Errorf("%w: ordering by another table (a join) is not supported under the tenancy layer", ErrUnsafeSQL)
	}
	text, args := sb.Query()
	if text == base {
		return nil, nil
	}
	terms, ok := strings.CutPrefix(text, base+" ORDER BY ")
	if !ok {
		return nil, fmt.Errorf("%w: an order function changed more than ORDER BY: %q", ErrUnsafeSQL, clip(text))
	}
	f, err := vet(terms, args, clauseFor(ctx, n, fragOrder))
	if err != nil {
		return nil, err
	}
	return []*frozen{f}, nil
}

// scoped reports whether applyScope adds a condition.
func scoped(ctx context.Context, n *Node) bool {
	v, _ := FromContext(ctx)
	return !v.System || n.SoftDelete && !IncludeDeleted(ctx)
}

// applyScope adds the viewer's tenant condition and, for soft-deletable
// entities, the live-row condition to sel, as conjuncts no caller code
// touches.
func applyScope(ctx context.Context, n *Node, sel *sql.Selector) {
	compare, tenant, live := scopeArgs(ctx, n)
	if compare {
		sel.Where(sql.EQ(sel.C(ColumnTenantID), tenant))
	}
	if live {
		sel.Where(sql.IsNull(sel.C(ColumnDeletedAt)))
	}
}

// scopeArgs says what applyScope adds for the viewer of ctx on n: a
// comparison of tenant_id with tenant (compare), and the live-row
// condition (live).
func scopeArgs(ctx context.Context, n *Node) (compare bool, tenant any, live bool) {
	v, _ := FromContext(ctx)
	switch {
	case v.System:
	case n.Kind == KindShared:
		compare, tenant = true, PlatformTenantID
	default:
		compare, tenant = true, v.TenantID
	}
	return compare, tenant, n.SoftDelete && !IncludeDeleted(ctx)
}

// TenantPredicate returns the predicate tenant_id = <viewer's tenant> for
// an entity whose rows carry their tenant in tenant_id, under a tenant
// viewer; nil for the system viewer and shared entities.
func TenantPredicate(ctx context.Context, typ string) func(*sql.Selector) {
	v, ok := FromContext(ctx)
	n, found := Lookup(typ)
	if !ok || v.System || !found || n.Kind == KindShared || n.Kind == "" {
		return nil
	}
	tenant := v.TenantID
	return func(s *sql.Selector) { s.Where(sql.EQ(s.C(ColumnTenantID), tenant)) }
}

// Reread reads back the row an UpdateOne changed, by its id and pred (the
// tenant), into assign; sqlgraph.NotFoundError when it is gone.
func Reread(ctx context.Context, drv dialect.Driver, spec *sqlgraph.UpdateSpec, pred func(*sql.Selector),
	scan func([]string) ([]any, error), assign func([]string, []any) error) error {
	found := false
	q := sqlgraph.NewQuerySpec(spec.Node.Table, spec.Node.Columns, spec.Node.ID)
	q.Predicate = func(s *sql.Selector) {
		s.Where(sql.EQ(s.C(spec.Node.ID.Column), spec.Node.ID.Value))
		pred(s)
	}
	q.ScanValues = scan
	q.Assign = func(columns []string, values []any) error {
		found = true
		return assign(columns, values)
	}
	if err := sqlgraph.QueryNodes(ctx, drv, q); err != nil {
		return err
	}
	if !found {
		return &sqlgraph.NotFoundError{}
	}
	return nil
}
