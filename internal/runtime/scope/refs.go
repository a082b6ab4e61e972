package scope

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
)

// Ref asks that rows IDs of Table belong to Owner (a tenant id, or
// PlatformTenantID for shared rows).
type Ref struct {
	Edge  string // for the error message
	Table string
	Owner string
	IDs   []string
}

// maxIDsPerQuery keeps a check under PostgreSQL's parameter limit.
const maxIDsPerQuery = 10000

// CheckRefs verifies every ref in one query per (table, owner): all ids
// must exist and belong to the owner. It reports ErrCrossTenantRef without
// saying which id failed or why (no existence oracle across tenants).
func CheckRefs(ctx context.Context, drv dialect.ExecQuerier, refs []Ref) error {
	type key struct{ table, owner string }
	groups := map[key]map[string]struct{}{}
	edges := map[key][]string{}
	var keys []key
	for _, r := range refs {
		if len(r.IDs) == 0 {
			continue
		}
		k := key{r.Table, r.Owner}
		set, ok := groups[k]
		if !ok {
			set = map[string]struct{}{}
			groups[k] = set
			keys = append(keys, k)
		}
		for _, id := range r.IDs {
			set[id] = struct{}{}
		}
		if !slices.Contains(edges[k], r.Edge) {
			edges[k] = append(edges[k], r.Edge)
		}
	}
	for _, k := range keys {
		ids := make([]any, 0, len(groups[k]))
		for id := range groups[k] {
			ids = append(ids, id)
		}
		for len(ids) > 0 {
			chunk := ids[:min(len(ids), maxIDsPerQuery)]
			ids = ids[len(chunk):]
			n, err := countOwned(ctx, drv, k.table, k.owner, chunk)
			if err != nil {
				return err
			}
			if n != len(chunk) {
				sort.Strings(edges[k])
				return fmt.Errorf("%w: edge %v to %s", ErrCrossTenantRef, edges[k], k.table)
			}
		}
	}
	return nil
}

func countOwned(ctx context.Context, drv dialect.ExecQuerier, table, owner string, ids []any) (int, error) {
	query, args := sql.Dialect(dialect.Postgres).
		Select(sql.Count("*")).From(sql.Table(table)).
		Where(sql.And(sql.In(ColumnID, ids...), sql.EQ(ColumnTenantID, owner))).
		Query()
	var rows sql.Rows
	if err := drv.Query(ctx, query, args, &rows); err != nil {
		return 0, fmt.Errorf("privacy: cross-tenant check on %s: %w", table, err)
	}
	defer rows.Close()
	return sql.ScanInt(&rows)
}

// Bulk collects the cross-tenant checks of one CreateBulk, so they run once
// per edge for the batch (see the create_bulk template).
type Bulk struct {
	mu   sync.Mutex
	muts map[ent.Mutation]bool
	refs []Ref
}

type bulkKey struct{}

// WithBulk marks ctx as the context of a bulk create of muts.
func WithBulk(ctx context.Context, muts ...ent.Mutation) context.Context {
	b := &Bulk{muts: make(map[ent.Mutation]bool, len(muts))}
	for _, m := range muts {
		b.muts[m] = true
	}
	return context.WithValue(ctx, bulkKey{}, b)
}

// Defer records refs of m for the batch check when m is a row of the bulk
// create carried by ctx, and reports whether it did. A mutation outside the
// batch (a hook's own write) must be checked at once.
func Defer(ctx context.Context, m ent.Mutation, refs []Ref) bool {
	b, _ := ctx.Value(bulkKey{}).(*Bulk)
	if b == nil || !b.muts[m] {
		return false
	}
	b.mu.Lock()
	b.refs = append(b.refs, refs...)
	b.mu.Unlock()
	return true
}

// FlushBulk runs the deferred checks of the bulk carried by ctx.
func FlushBulk(ctx context.Context, drv dialect.ExecQuerier) error {
	b, _ := ctx.Value(bulkKey{}).(*Bulk)
	if b == nil {
		return nil
	}
	b.mu.Lock()
	refs := b.refs
	b.refs = nil
	b.mu.Unlock()
	return CheckRefs(ctx, drv, refs)
}
