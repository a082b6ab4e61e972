package input

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/lib/pq"

	"github.com/leadmetrics/db/internal/runtime/scope"
)

// Mutation is what the code generator adds to every Ent mutation
// (ent/template/input.tmpl): CheckInput checks each string and JSON
// value the mutation sets or appends, InputError wraps this package's
// errors in Ent's (ent.IsValidationError, ent.IsConstraintError).
type Mutation interface {
	CheckInput() error
	InputError(error) error
}

// Hook refuses a mutation carrying a bad value before the next hook (and
// any SQL) runs, and reports a create whose id is taken as an *IDTakenError
// and an upsert SET value refused by GuardConflict as a *ValidationError.
// BaseMixin puts it on every entity.
func Hook() ent.Hook {
	return func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			im, ok := m.(Mutation)
			if !ok {
				return nil, fmt.Errorf("input: mutation %T has no CheckInput (regenerate ent)", m)
			}
			if err := im.CheckInput(); err != nil {
				return nil, err
			}
			if err := checkEdges(m); err != nil {
				return nil, im.InputError(err)
			}
			v, err := next.Mutate(ctx, m)
			if err == nil || !m.Op().Is(ent.OpCreate) {
				return v, err
			}
			if verr := setError(err); verr != nil {
				return nil, im.InputError(verr)
			}
			if cerr := IDConflict(err); cerr != nil {
				return nil, im.InputError(cerr)
			}
			return v, err
		})
	}
}

// checkEdges checks the ids a mutation adds to or removes from its edges
// (AddXIDs, SetXID, RemoveXIDs): the cross-tenant check and the statement
// send them as they are. The error names the edge.
func checkEdges(m ent.Mutation) error {
	for _, e := range m.AddedEdges() {
		for _, id := range m.AddedIDs(e) {
			if err := Value(m.Type(), e, id); err != nil {
				return err
			}
		}
	}
	for _, e := range m.RemovedEdges() {
		for _, id := range m.RemovedIDs(e) {
			if err := Value(m.Type(), e, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// IDTakenError reports a create whose id is already a row's id. Ids are
// global, so the row may be the caller's tenant's or another's: the error
// is the same in both cases, never names the constraint or the owner, and
// matches privacy.ErrCrossTenantRef like a link to a missing or foreign
// row does.
type IDTakenError struct{ Entity string }

func (e *IDTakenError) Error() string {
	return fmt.Sprintf("%v: the %s id is not available", scope.ErrCrossTenantRef, e.Entity)
}

// Unwrap makes errors.Is(err, privacy.ErrCrossTenantRef) match.
func (e *IDTakenError) Unwrap() error { return scope.ErrCrossTenantRef }

// IDConflict returns an *IDTakenError when err is a unique violation of a
// table's primary key or of its unique id (tenant-owned tables, whose
// primary key is (tenant_id, id)) (pgx or lib/pq), else nil.
func IDConflict(err error) error {
	table, constraint, ok := uniqueViolation(err)
	if !ok || (constraint != table+"_pkey" && constraint != table+"_id_key") {
		return nil
	}
	entity := table
	if n, ok := scope.LookupTable(table); ok {
		entity = n.Type
	}
	return &IDTakenError{Entity: entity}
}

func uniqueViolation(err error) (table, constraint string, ok bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// On Citus the names are a shard's: activities_102008.
		table, constraint = shardSuffix.ReplaceAllString(pgErr.TableName, ""), shardSuffix.ReplaceAllString(pgErr.ConstraintName, "")
		m := constraintInMessage.FindStringSubmatch(pgErr.Message)
		if constraint == "" && m != nil {
			// Citus relays a worker's error from a delegated function (and
			// from COPY, as XX000) with its message only: the key is named
			// there.
			constraint = shardSuffix.ReplaceAllString(m[1], "")
			if t := strings.TrimSuffix(strings.TrimSuffix(constraint, "_pkey"), "_id_key"); isTable(t) {
				table = t
			}
		}
		return table, constraint, pgErr.Code == "23505" || (pgErr.Code == "XX000" && m != nil)
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return pqErr.Table, pqErr.Constraint, pqErr.Code == "23505"
	}
	return "", "", false
}

var (
	shardSuffix         = regexp.MustCompile(`_[0-9]+$`)
	constraintInMessage = regexp.MustCompile(`^duplicate key value violates unique constraint "([^"]+)"`)
)

// GuardConflict checks the values an upsert SETs on conflict (Update,
// SetX, a raw UpdateSet.Set), which no hook sees: it is the first link of
// the generated upsertGuard chain (ent/template/tenancy.tmpl), before
// the tenant scope. A refused value makes the statement fail to build, so
// nothing is sent; Hook turns that failure back into the *ValidationError.
func GuardConflict(entity string, opts []sql.ConflictOption) []sql.ConflictOption {
	if len(opts) == 0 {
		return opts
	}
	return append(opts[:len(opts):len(opts)], sql.ResolveWith(func(u *sql.UpdateSet) {
		if err := checkSet(entity, u); err != nil {
			// A column of its own: a later resolver (the tenancy guard)
			// may overwrite the refused column's value.
			b, _ := json.Marshal(err)
			u.Set(failColumn, failExpr{errors.New(setMarker + string(b))})
		}
	}))
}

// failColumn names no column: the statement never builds.
const failColumn = "leadmetrics_input_refused"

// setMarker prefixes the JSON of a refused SET value in the build error.
const setMarker = "leadmetrics/input: refused upsert value: "

// failExpr is a SET value whose rendering fails the statement's build
// (sqlgraph calls QueryErr before running it).
type failExpr struct{ err error }

func (f failExpr) Query() (string, []any) { return "NULL", nil }
func (f failExpr) Err() error             { return f.err }

// setColumn finds the `"column" = ` a placeholder belongs to in a rendered SET list.
var setColumn = regexp.MustCompile(`"((?:[^"]|"")+)" = `)

// checkSet renders the SET list alone and checks every argument, naming
// the column it is assigned to.
func checkSet(entity string, u *sql.UpdateSet) *ValidationError {
	probe := *u.UpdateBuilder
	probe.Builder = sql.Dialect(dialect.Postgres).Update("probe").Builder
	query, args := probe.Query()
	for i, a := range args {
		err := Value(entity, "", a)
		if err == nil {
			continue
		}
		verr := err.(*ValidationError)
		verr.Field = "?"
		if at := placeholder(query, i+1); at >= 0 {
			if ms := setColumn.FindAllStringSubmatchIndex(query[:at], -1); len(ms) > 0 {
				m := ms[len(ms)-1]
				verr.Field = strings.ReplaceAll(query[m[2]:m[3]], `""`, `"`)
			}
		}
		return verr
	}
	return nil
}

// placeholder returns the offset of $n in query, or -1.
func placeholder(query string, n int) int {
	p := "$" + strconv.Itoa(n)
	for off := 0; ; {
		i := strings.Index(query[off:], p)
		if i < 0 {
			return -1
		}
		end := off + i + len(p)
		if end == len(query) || query[end] < '0' || query[end] > '9' {
			return off + i
		}
		off = end
	}
}

// setError decodes the *ValidationError GuardConflict put in a build error.
func setError(err error) *ValidationError {
	msg := err.Error()
	i := strings.Index(msg, setMarker)
	if i < 0 {
		return nil
	}
	var v ValidationError
	if json.NewDecoder(strings.NewReader(msg[i+len(setMarker):])).Decode(&v) != nil || v.Reason == "" {
		return nil
	}
	return &v
}

func isTable(name string) bool { _, ok := scope.LookupTable(name); return ok }
