package migrations

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"
)

// RevisionSchema and RevisionTable name the history table exactly as the
// official Atlas CLI does, so either tool continues the other's work.
const (
	RevisionSchema = "atlas_schema_revisions"
	RevisionTable  = "atlas_schema_revisions"
)

// revisionTableSQL is the history table's qualified name in SQL.
const revisionTableSQL = `"atlas_schema_revisions"."atlas_schema_revisions"`

// cloudIDVersion is the row the official CLI keeps in the table to identify
// the target database; it is not a migration, so reads skip it and writes
// refuse it, as the CLI does.
const cloudIDVersion = ".atlas_cloud_identifier"

var errReservedVersion = errors.New("migrations: version " + cloudIDVersion + " is reserved by the Atlas CLI")

// revisionDDL matches the table the official CLI creates (its Ent schema
// for revisions): same columns, types and defaults.
const revisionDDL = `CREATE SCHEMA IF NOT EXISTS "atlas_schema_revisions";
CREATE TABLE IF NOT EXISTS ` + revisionTableSQL + ` (
  "version" character varying NOT NULL,
  "description" character varying NOT NULL,
  "type" bigint NOT NULL DEFAULT 2,
  "applied" bigint NOT NULL DEFAULT 0,
  "total" bigint NOT NULL DEFAULT 0,
  "executed_at" timestamptz NOT NULL,
  "execution_time" bigint NOT NULL,
  "error" text NULL,
  "error_stmt" text NULL,
  "hash" character varying NOT NULL,
  "partial_hashes" jsonb NULL,
  "operator_version" character varying NOT NULL,
  PRIMARY KEY ("version")
)`

// revisions is a migrate.RevisionReadWriter on the official CLI's table.
type revisions struct{ conn schema.ExecQuerier }

var _ migrate.RevisionReadWriter = revisions{}

// ensureRevisionTable creates the history table when missing.
func ensureRevisionTable(ctx context.Context, conn schema.ExecQuerier) error {
	if _, err := conn.ExecContext(ctx, revisionDDL); err != nil {
		return fmt.Errorf("migrations: create revision table: %w", err)
	}
	return nil
}

// history reads, without locking, the files of dir (nil: the embedded
// ones) and the revisions db recorded (none before the first apply): what
// Status and Compare start from.
func history(ctx context.Context, db schema.ExecQuerier, dir migrate.Dir) ([]migrate.File, []*migrate.Revision, error) {
	if dir == nil {
		var err error
		if dir, err = Embedded(); err != nil {
			return nil, nil, err
		}
	}
	files, err := dir.Files()
	if err != nil {
		return nil, nil, err
	}
	ok, err := revisionTableExists(ctx, db)
	if err != nil || !ok {
		return files, nil, err
	}
	revs, err := revisions{conn: db}.ReadRevisions(ctx)
	return files, revs, err
}

// revisionTableExists reports whether the history table exists.
func revisionTableExists(ctx context.Context, conn schema.ExecQuerier) (bool, error) {
	rows, err := conn.QueryContext(ctx, `SELECT to_regclass('`+revisionTableSQL+`') IS NOT NULL`)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	var ok bool
	if rows.Next() {
		if err := rows.Scan(&ok); err != nil {
			return false, err
		}
	}
	return ok, rows.Err()
}

func (revisions) Ident() *migrate.TableIdent {
	return &migrate.TableIdent{Name: RevisionTable, Schema: RevisionSchema}
}

const revisionColumns = `version, description, type, applied, total, executed_at, execution_time, error, error_stmt, hash, partial_hashes, operator_version`

func (r revisions) ReadRevisions(ctx context.Context) ([]*migrate.Revision, error) {
	rows, err := r.conn.QueryContext(ctx, `SELECT `+revisionColumns+` FROM `+revisionTableSQL+` WHERE version <> $1 ORDER BY version`, cloudIDVersion)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var revs []*migrate.Revision
	for rows.Next() {
		rev, err := scanRevision(rows)
		if err != nil {
			return nil, err
		}
		revs = append(revs, rev)
	}
	return revs, rows.Err()
}

func (r revisions) ReadRevision(ctx context.Context, version string) (*migrate.Revision, error) {
	if version == cloudIDVersion {
		return nil, migrate.ErrRevisionNotExist
	}
	rows, err := r.conn.QueryContext(ctx, `SELECT `+revisionColumns+` FROM `+revisionTableSQL+` WHERE version = $1`, version)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, migrate.ErrRevisionNotExist
	}
	return scanRevision(rows)
}

func (r revisions) WriteRevision(ctx context.Context, rev *migrate.Revision) error {
	if rev.Version == cloudIDVersion {
		return errReservedVersion
	}
	var partial []byte
	if rev.PartialHashes != nil {
		var err error
		if partial, err = json.Marshal(rev.PartialHashes); err != nil {
			return err
		}
	}
	_, err := r.conn.ExecContext(ctx, `INSERT INTO `+revisionTableSQL+` (`+revisionColumns+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (version) DO UPDATE SET description = EXCLUDED.description, type = EXCLUDED.type,
  applied = EXCLUDED.applied, total = EXCLUDED.total, executed_at = EXCLUDED.executed_at,
  execution_time = EXCLUDED.execution_time, error = EXCLUDED.error, error_stmt = EXCLUDED.error_stmt,
  hash = EXCLUDED.hash, partial_hashes = EXCLUDED.partial_hashes, operator_version = EXCLUDED.operator_version`,
		rev.Version, rev.Description, int64(rev.Type), rev.Applied, rev.Total, rev.ExecutedAt,
		int64(rev.ExecutionTime), nullString(rev.Error), nullString(rev.ErrorStmt), rev.Hash,
		nullBytes(partial), rev.OperatorVersion)
	return err
}

func (r revisions) DeleteRevision(ctx context.Context, version string) error {
	if version == cloudIDVersion {
		return errReservedVersion
	}
	_, err := r.conn.ExecContext(ctx, `DELETE FROM `+revisionTableSQL+` WHERE version = $1`, version)
	return err
}

func scanRevision(rows *sql.Rows) (*migrate.Revision, error) {
	var (
		rev           migrate.Revision
		typ, execTime int64
		errText, stmt sql.NullString
		partial       []byte
	)
	if err := rows.Scan(&rev.Version, &rev.Description, &typ, &rev.Applied, &rev.Total, &rev.ExecutedAt,
		&execTime, &errText, &stmt, &rev.Hash, &partial, &rev.OperatorVersion); err != nil {
		return nil, err
	}
	rev.Type = migrate.RevisionType(typ)
	rev.ExecutionTime = time.Duration(execTime)
	rev.Error, rev.ErrorStmt = errText.String, stmt.String
	if len(partial) > 0 {
		if err := json.Unmarshal(partial, &rev.PartialHashes); err != nil {
			return nil, errors.Join(errors.New("migrations: bad partial_hashes"), err)
		}
	}
	return &rev, nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

// HasRevisions reports whether db has a migration history: then its schema
// belongs to the migration files, and tools that change it directly
// (dbctl schema push) must not.
func HasRevisions(ctx context.Context, db *sql.DB) (bool, error) {
	ok, err := revisionTableExists(ctx, db)
	if err != nil || !ok {
		return false, err
	}
	var has bool
	err = db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+revisionTableSQL+` WHERE version <> $1)`, cloudIDVersion).Scan(&has)
	return has, err
}
