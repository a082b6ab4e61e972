package scope

import (
	"fmt"
	"strings"

	"entgo.io/ent/dialect/sql"
)

// Markers in the error PostgreSQL raises when the guard refuses an upsert;
// ConflictError turns them into typed errors.
const (
	conflictMarker  = "leadmetrics: upsert conflicts with a row of another tenant"
	immutableMarker = "leadmetrics: upsert conflicts with an immutable row"
)

// GuardConflict adds the tenancy guard to an upsert's ON CONFLICT options
// (the generated createSpec calls it). Ent's upsert update path runs no
// update hook or policy, so the guard lives in the statement itself:
//
//   - DO UPDATE only when the existing row has the inserted tenant_id;
//     otherwise the statement fails (a cast error carrying conflictMarker),
//     so a conflict on a global key (id, a provider key) can never update
//     another tenant's row, in single and bulk upserts alike;
//   - tenant_id keeps the row's value whatever the caller's SET says;
//   - a soft-deleted row of the same tenant is revived (deleted_at = NULL):
//     an upsert means "make this row exist with these values";
//   - on an immutable entity any conflict fails.
//
// A caller's own UpdateWhere is replaced by the guard. DO NOTHING is left
// alone: it changes no row.
func GuardConflict(typ string, opts []sql.ConflictOption) []sql.ConflictOption {
	if len(opts) == 0 {
		return opts
	}
	n, ok := Lookup(typ)
	if !ok || n.Kind == "" {
		return opts
	}
	t := quoteIdent(n.Table)
	// The cast of a text that is no boolean raises; it depends on EXCLUDED,
	// so PostgreSQL evaluates it only for a refused row.
	fail := func(marker string) string {
		return fmt.Sprintf("CAST(('%s: ' || \"excluded\".%s) AS BOOLEAN)", marker, quoteIdent(ColumnTenantID))
	}
	cond := fmt.Sprintf("CASE WHEN %s.%s = \"excluded\".%s THEN TRUE ELSE %s END",
		t, quoteIdent(ColumnTenantID), quoteIdent(ColumnTenantID), fail(conflictMarker))
	if n.Immutable {
		cond = fail(immutableMarker)
	}
	out := append(opts[:len(opts):len(opts)],
		sql.ResolveWith(func(u *sql.UpdateSet) {
			u.SetIgnore(ColumnTenantID)
			if n.SoftDelete {
				u.Set(ColumnDeletedAt, nil)
			}
		}),
		sql.UpdateWhere(sql.ExprP(cond)),
	)
	return out
}

// ConflictError returns the typed error for the guard's refusal in err
// (ErrCrossTenantRef or ErrImmutable), or nil when err is something else.
func ConflictError(err error) error {
	switch {
	case err == nil:
		return nil
	case strings.Contains(err.Error(), conflictMarker):
		return fmt.Errorf("%w: the upsert met a row of another tenant; nothing was written", ErrCrossTenantRef)
	case strings.Contains(err.Error(), immutableMarker):
		return fmt.Errorf("%w: the upsert met an existing row; nothing was written", ErrImmutable)
	}
	return nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
