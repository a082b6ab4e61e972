package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/internal/runtime/scope"
	"github.com/leadmetrics/db/retry"
)

// Upserted is what UpsertByRef did.
type Upserted struct {
	ID string // the row's id
	// Outcome: Inserted (no row of the tenant had the ref id), Updated (the
	// row existed with other content and now has the new values) or
	// Replayed (the row existed with the same content: nothing written).
	Outcome  UpsertOutcome
	Attempts int // runs of the upsert (reruns after a failover or conflict included)
}

// UpsertOutcome says what an upsert by (tenant_id, ref_id) did.
type UpsertOutcome string

// Outcomes of UpsertByRef.
const (
	Inserted UpsertOutcome = "inserted"
	Updated  UpsertOutcome = "updated"
	// Replayed: the row already had these values (a rerun whose first
	// attempt committed, or the same request twice); nothing was written,
	// updated_at included. A row of an append-only entity never changes:
	// an existing ref id is Replayed whatever the values.
	Replayed UpsertOutcome = "replayed"
)

// ErrNotUpsert matches an UpsertByRef whose function did not run exactly one
// create of a tenant-scoped entity, or whose create met the existing ref id
// without an ON CONFLICT clause: nothing was written. A function that does
// not set the ref id (a fresh default each run) is found out when it is
// rerun: that error matches ErrOutcomeUnknown too (the first attempt may
// have committed), and no second row is written.
var ErrNotUpsert = errors.New("db: UpsertByRef runs exactly one Ent upsert on (tenant_id, ref_id)")

// errUnchanged rolls back a replayed upsert's transaction.
var errUnchanged = errors.New("db: upsert changed nothing")

// UpsertByRef runs upsert, which makes one Ent create on c an upsert on the
// tenant's natural key:
//
//	res, err := h.UpsertByRef(ctx, func(ctx context.Context, c *ent.Client) error {
//		return c.Campaign.Create().SetRefID("spring").SetName("Spring").
//			OnConflictColumns(campaign.FieldTenantID, campaign.FieldRefID).UpdateNewValues().Exec(ctx)
//	})
//
// in its own transaction, and reports whether the row was inserted, updated
// or already had these values (Replayed: the transaction is rolled back,
// nothing is written). An upsert is idempotent, so it is rerun like
// WithTx(Idempotent): after a lost connection, a failover or a COMMIT whose
// answer was lost, with backoff inside ctx's deadline, and up to 3 times on
// a serialization failure or deadlock. A rerun whose first attempt had
// committed finds the row as it left it: Replayed.
//
// upsert may run more than once: everything it does goes through c (no
// outside calls). The viewer rules are those of every create (tenant_id
// from a tenant viewer; the system viewer sets it).
func (d *DB) UpsertByRef(ctx context.Context, upsert func(ctx context.Context, c *ent.Client) error) (Upserted, error) {
	var res Upserted
	attempts := 0
	var firstRef ent.Value
	err := runTx(ctx, d.SQL, func(ctx context.Context, tx *Tx) error {
		attempts++
		w := &refWrite{tx: tx.SQL, firstRef: &firstRef}
		tx.Client.Use(w.hook)
		if err := upsert(ctx, tx.Client); err != nil {
			return err
		}
		if w.mutations != 1 || w.id == "" {
			return fmt.Errorf("%w: the function ran %d mutations", ErrNotUpsert, w.mutations)
		}
		res = Upserted{ID: w.id, Outcome: w.outcome}
		if w.outcome == Replayed {
			return errUnchanged
		}
		return nil
	}, Idempotent(3))
	res.Attempts = attempts
	if errors.Is(err, errUnchanged) {
		err = nil
	}
	if err != nil {
		return Upserted{Attempts: attempts}, err
	}
	return res, nil
}

// refWrite watches the one create of an UpsertByRef: it reads the tenant's
// row with the ref id before and after the statement, in the transaction.
type refWrite struct {
	tx        *sql.Tx
	firstRef  *ent.Value // the first attempt's ref id
	mutations int
	id        string
	outcome   UpsertOutcome
}

func (w *refWrite) hook(next ent.Mutator) ent.Mutator {
	return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
		if w.mutations++; w.mutations > 1 || !m.Op().Is(ent.OpCreate) {
			return nil, fmt.Errorf("%w: %s %s", ErrNotUpsert, m.Op(), m.Type())
		}
		table, tenant, ok, err := scope.CreateTarget(ctx, m)
		switch {
		case !ok:
			return nil, fmt.Errorf("%w: %s has no tenant key", ErrNotUpsert, m.Type())
		case err != nil:
			return nil, err
		}
		ref, _ := m.Field("ref_id") // set by the caller, or a fresh default
		switch {
		case *w.firstRef == nil:
			*w.firstRef = ref
		case ref != *w.firstRef:
			// A rerun with another key would write a second row: fn left
			// the ref id to its default (or computes it anew).
			return nil, &retry.OutcomeUnknownError{Op: "COMMIT", Err: fmt.Errorf(
				"%w: the ref id changed between attempts (%v, then %v): fn must set it; the first attempt may have committed",
				ErrNotUpsert, *w.firstRef, ref)}
		}
		idm, ok := m.(interface{ ID() (string, bool) })
		if !ok {
			return nil, fmt.Errorf("%w: %s has no string id", ErrNotUpsert, m.Type())
		}
		newID, _ := idm.ID()
		// FOR UPDATE: a concurrent upsert of the same ref waits for this one.
		before, err := w.row(ctx, table, tenant, ref)
		if err != nil {
			return nil, err
		}
		out, err := next.Mutate(ctx, m)
		if err != nil {
			if before.Valid && ent.IsConstraintError(err) {
				return nil, fmt.Errorf("%w: %s %v exists and the create has no ON CONFLICT (tenant_id, ref_id): %w",
					ErrNotUpsert, m.Type(), ref, err)
			}
			return nil, err
		}
		w.id, _ = idm.ID() // the inserted row's, or the existing one's
		after, err := w.row(ctx, table, tenant, ref)
		switch {
		case err != nil:
			return nil, err
		case !after.Valid || w.id == "":
			return nil, fmt.Errorf("%w: no %s with ref id %v after the upsert (conflict target not (tenant_id, ref_id)?)",
				ErrNotUpsert, m.Type(), ref)
		case !before.Valid && w.id == newID:
			w.outcome = Inserted
		case before.Valid && before.String == after.String:
			w.outcome = Replayed
		default:
			// Changed, or inserted by a concurrent upsert after this one's
			// read: applied either way.
			w.outcome = Updated
		}
		return out, nil
	})
}

// row returns the content of the tenant's row with the ref id (as jsonb,
// updated_at left out: every upsert sets it), locked; NULL when none.
func (w *refWrite) row(ctx context.Context, table, tenant string, ref ent.Value) (sql.NullString, error) {
	var s sql.NullString
	err := w.tx.QueryRowContext(ctx, `SELECT (to_jsonb(t) - 'updated_at')::text FROM `+pgx.Identifier{table}.Sanitize()+` t
		WHERE t.tenant_id = $1 AND t.ref_id = $2 FOR UPDATE`, tenant, ref).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return s, err
}
