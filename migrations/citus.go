package migrations

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/leadmetrics/db/internal/migrate/tenantkeys"
)

// TableDistribution is how Citus places one table of the public schema.
type TableDistribution struct {
	Table string
	// Type is "distributed", "reference" or "local" (not a Citus table).
	Type         string
	Column       string // distribution column (distributed tables)
	ColocationID int
	ShardCount   int
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// HasCitus reports whether the citus extension is installed in the
// database.
func HasCitus(ctx context.Context, q querier) (bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')`)
	if err != nil {
		return false, fmt.Errorf("migrations: %w", err)
	}
	defer rows.Close()
	var ok bool
	if rows.Next() {
		err = rows.Scan(&ok)
	}
	return ok, cmpErr(err, rows.Err())
}

func cmpErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
	}
	return nil
}

// Distribution lists every table of the public schema with its Citus
// placement, or nil when the database has no citus extension.
func Distribution(ctx context.Context, q querier) ([]TableDistribution, error) {
	if ok, err := HasCitus(ctx, q); err != nil || !ok {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `
SELECT c.relname, coalesce(ct.citus_table_type, 'local'), coalesce(ct.distribution_column, ''),
       coalesce(ct.colocation_id, 0), coalesce(ct.shard_count, 0)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN citus_tables ct ON ct.table_name = c.oid
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
ORDER BY c.relname`)
	if err != nil {
		return nil, fmt.Errorf("migrations: citus tables: %w", err)
	}
	defer rows.Close()
	var out []TableDistribution
	for rows.Next() {
		var d TableDistribution
		if err := rows.Scan(&d.Table, &d.Type, &d.Column, &d.ColocationID, &d.ShardCount); err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		if d.Column == "<none>" {
			d.Column = ""
		}
		out = append(out, d)
	}
	return out, cmpErr(rows.Err())
}

// Distribute places every table of the public schema that Citus does not
// place yet, when the database has the citus extension (else it does
// nothing): the tables of tenantkeys.Reference and those without tenant_id
// become reference tables, every other table carrying tenant_id is
// distributed by tenant_id, co-located with the others. So a new
// tenant-owned table cannot be forgotten: Apply calls this after the files.
// A distributed table cannot keep a unique key without tenant_id: the unique
// id of tenant-owned tables (tenantkeys.IDKey) is dropped first (ids stay
// unique by construction, cuids). It runs in one transaction and returns
// the tables it placed.
func Distribute(ctx context.Context, db interface {
	BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)
}) ([]TableDistribution, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	defer tx.Rollback()
	current, err := Distribution(ctx, tx)
	if err != nil || current == nil {
		return nil, err
	}
	var local []string
	for _, d := range current {
		if d.Type == "local" {
			local = append(local, d.Table)
		}
	}
	if len(local) == 0 {
		if err := distributeFunctions(ctx, tx); err != nil {
			return nil, err
		}
		return nil, cmpErr(tx.Commit())
	}
	withTenant, err := tablesWithColumn(ctx, tx, tenantkeys.Column)
	if err != nil {
		return nil, err
	}
	// Citus refuses a foreign key from a local table to a Citus table, so
	// the keys of the tables placed now come off first and go back once
	// every table is placed, all in one transaction.
	if _, err := tx.ExecContext(ctx, `SET LOCAL citus.multi_shard_modify_mode TO 'sequential'`); err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	fks, err := foreignKeys(ctx, tx, local)
	if err != nil {
		return nil, err
	}
	for _, fk := range fks {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`ALTER TABLE %q DROP CONSTRAINT %q`, fk.table, fk.name)); err != nil {
			return nil, fmt.Errorf("migrations: %s: %w", fk.name, err)
		}
	}
	var placed []TableDistribution
	for _, name := range local {
		d := TableDistribution{Table: name}
		if tenantkeys.Distributed(name, withTenant[name]) {
			d.Type, d.Column = "distributed", tenantkeys.Column
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`DROP INDEX IF EXISTS %q`, tenantkeys.IDKey(name))); err != nil {
				return nil, fmt.Errorf("migrations: %s: drop its unique id: %w", name, err)
			}
			if _, err := tx.ExecContext(ctx, `SELECT create_distributed_table($1, $2, colocate_with => 'default')`, name, d.Column); err != nil {
				return nil, fmt.Errorf("migrations: distribute %s: %w", name, err)
			}
		} else {
			d.Type = "reference"
			if _, err := tx.ExecContext(ctx, `SELECT create_reference_table($1)`, name); err != nil {
				return nil, fmt.Errorf("migrations: reference table %s: %w", name, err)
			}
		}
		placed = append(placed, d)
	}
	for _, fk := range fks {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`ALTER TABLE %q ADD CONSTRAINT %q %s`, fk.table, fk.name, fk.def)); err != nil {
			return nil, fmt.Errorf("migrations: %s: %w", fk.name, err)
		}
	}
	if err := distributeFunctions(ctx, tx); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return placed, nil
}

// DistributedFunctions are the functions of the public schema that Citus
// delegates to the worker holding their tenant's shard, with the argument
// that names the tenant: each is co-located with credit_balances, so the
// whole call runs on that worker (docs/SCALE.md, "Postings on the cluster").
var DistributedFunctions = map[string]string{
	"ledger_post":       "p_tenant",
	"ledger_post_batch": "p_anchor",
}

// distributeFunctions makes DistributedFunctions distributed functions
// where they exist and are not yet (a migration creates them, Distribute
// runs after every file, once credit_balances is distributed).
func distributeFunctions(ctx context.Context, tx *sql.Tx) error {
	for name, arg := range DistributedFunctions {
		rows, err := tx.QueryContext(ctx, `SELECT p.oid::regprocedure::text FROM pg_proc p
WHERE p.proname = $1 AND p.pronamespace = 'public'::regnamespace
AND NOT EXISTS (SELECT 1 FROM pg_dist_object o WHERE o.classid = 'pg_proc'::regclass AND o.objid = p.oid
	AND o.distribution_argument_index IS NOT NULL)`, name)
		if err != nil {
			return fmt.Errorf("migrations: functions: %w", err)
		}
		var sigs []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				rows.Close()
				return fmt.Errorf("migrations: %w", err)
			}
			sigs = append(sigs, s)
		}
		if err := cmpErr(rows.Err(), rows.Close()); err != nil {
			return err
		}
		for _, sig := range sigs {
			if _, err := tx.ExecContext(ctx, `SELECT create_distributed_function($1, $2, colocate_with => 'credit_balances')`,
				sig, arg); err != nil {
				return fmt.Errorf("migrations: distribute function %s: %w", sig, err)
			}
		}
	}
	return nil
}

type foreignKey struct{ table, name, def string }

// foreignKeys returns the foreign keys of the public schema from or to
// tables.
func foreignKeys(ctx context.Context, q querier, tables []string) ([]foreignKey, error) {
	rows, err := q.QueryContext(ctx, `
SELECT t.relname, c.conname, pg_get_constraintdef(c.oid)
FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE c.contype = 'f' AND n.nspname = 'public' AND (t.relname = ANY($1) OR r.relname = ANY($1))
ORDER BY 1, 2`, tables)
	if err != nil {
		return nil, fmt.Errorf("migrations: foreign keys: %w", err)
	}
	defer rows.Close()
	var out []foreignKey
	for rows.Next() {
		var fk foreignKey
		if err := rows.Scan(&fk.table, &fk.name, &fk.def); err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		out = append(out, fk)
	}
	return out, cmpErr(rows.Err())
}

// tablesWithColumn returns the tables of the public schema having column.
func tablesWithColumn(ctx context.Context, q querier, column string) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT table_name FROM information_schema.columns
WHERE table_schema = 'public' AND column_name = $1`, column)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		out[t] = true
	}
	return out, cmpErr(rows.Err())
}
