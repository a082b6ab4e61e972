package scope

import (
	"fmt"
	"strings"

	"entgo.io/ent/dialect/sql"
)

// conflictMarker is in the error PostgreSQL raises when an upsert meets
// another tenant's row; IsConflictGuardError recognizes it.
const conflictMarker = "leadmetrics: upsert conflicts with a row of another tenant"

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
	fail := fmt.Sprintf("CAST(('%s: ' || \"excluded\".%s) AS BOOLEAN)", conflictMarker, quoteIdent(ColumnTenantID))
	cond := fmt.Sprintf("CASE WHEN %s.%s = \"excluded\".%s THEN TRUE ELSE %s END",
		t, quoteIdent(ColumnTenantID), quoteIdent(ColumnTenantID), fail)
	if n.Immutable {
		cond = fail
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

// IsConflictGuardError reports whether err is the guard's refusal.
func IsConflictGuardError(err error) bool {
	return err != nil && strings.Contains(err.Error(), conflictMarker)
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
