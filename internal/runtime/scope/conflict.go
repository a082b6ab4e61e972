package scope

import (
	"fmt"
	"strings"
	"sync"

	"entgo.io/ent/dialect/sql"
	"github.com/jackc/pgx/v5"
)

// conflictMarker is in the error PostgreSQL raises when the guard refuses
// an upsert; ConflictError turns it into a typed error.
const conflictMarker = "leadmetrics: upsert conflicts with a row of another tenant"

// GuardConflict adds the tenancy guard to an upsert's ON CONFLICT options
// (the second link of the generated upsertGuard chain, after the input
// check). Ent's upsert update path runs no update hook or policy, so the
// guard lives in the statement itself:
//
//   - for tenant-owned entities, DO UPDATE only when the existing row has
//     the inserted tenant_id; otherwise the statement fails (a cast error
//     carrying conflictMarker, mapped to ErrCrossTenantRef), so a conflict
//     on a global key (id, a provider key) can never update another
//     tenant's row, in single and bulk upserts alike;
//   - tenant_id keeps the row's value whatever the caller's SET says;
//   - a soft-deleted row of the same tenant is revived (deleted_at = NULL):
//     an upsert means "make this row exist with these values";
//   - on an immutable entity every column keeps its value: the upsert is an
//     idempotent insert that returns the existing row unchanged.
//
// A caller's own UpdateWhere is replaced by the guard. DO NOTHING is left
// alone: it changes no row. Tenants and shared rows are written by the
// system viewer only and get no tenant condition (an upsert of a tenant by
// slug meets a row whose tenant_id is its own id).
func GuardConflict(typ string, opts []sql.ConflictOption) []sql.ConflictOption {
	if len(opts) == 0 {
		return opts
	}
	n, ok := Lookup(typ)
	if !ok || n.Kind == "" {
		return opts
	}
	out := append(opts[:len(opts):len(opts)], sql.ResolveWith(func(u *sql.UpdateSet) {
		if n.Immutable {
			for _, c := range append(u.UpdateColumns(), u.Columns()...) {
				u.SetIgnore(c)
			}
		}
		u.SetIgnore(ColumnTenantID)
		// The create hook checked the inserted links, not values a caller
		// SETs on conflict: a link column takes the checked inserted value
		// (clearing one through an upsert fails closed, as a duplicate
		// assignment).
		for _, c := range u.UpdateColumns() {
			if n.isLink(c) {
				u.SetExcluded(c)
			}
		}
		if n.SoftDelete {
			u.Set(ColumnDeletedAt, nil)
		}
	}))
	if n.Kind == KindOwned {
		out = append(out, sql.UpdateWhere(sql.ExprP(guardCond(n.Table))))
	}
	return out
}

// guardConds caches guardCond's text per table.
var guardConds sync.Map // table -> string

// guardCond is the DO UPDATE condition of a tenant-owned table's upserts.
// The cast of a text that is no boolean raises; it depends on EXCLUDED,
// so PostgreSQL evaluates it only for a refused row.
func guardCond(table string) string {
	if c, ok := guardConds.Load(table); ok {
		return c.(string)
	}
	t, col := pgx.Identifier{table}.Sanitize(), pgx.Identifier{ColumnTenantID}.Sanitize()
	c := fmt.Sprintf(`CASE WHEN %s.%s = "excluded".%s THEN TRUE ELSE CAST(('%s: ' || "excluded".%s) AS BOOLEAN) END`,
		t, col, col, conflictMarker, col)
	guardConds.Store(table, c)
	return c
}

// ConflictError returns the typed error for the guard's refusal in err
// (ErrCrossTenantRef), or nil when err is something else.
func ConflictError(err error) error {
	switch {
	case err == nil:
		return nil
	case strings.Contains(err.Error(), conflictMarker):
		return fmt.Errorf("%w: the upsert met a row of another tenant; nothing was written", ErrCrossTenantRef)
	}
	return nil
}
