package entpgx

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Rows is a pgx result as Ent reads it (entsql.ColumnScanner).
type Rows struct {
	rows      pgx.Rows
	preloaded bool // Query read the first row: the next Next reports more
	more      bool
	cols      []string
	dest      []any // Scan's destinations, reused across rows
}

// Next advances to the next row.
func (r *Rows) Next() bool {
	if r.preloaded {
		r.preloaded = false
		return r.more
	}
	return r.rows.Next()
}

// Columns returns the result's column names.
func (r *Rows) Columns() ([]string, error) {
	if r.cols == nil {
		fds := r.rows.FieldDescriptions()
		r.cols = make([]string, len(fds))
		for i, fd := range fds {
			r.cols[i] = fd.Name
		}
	}
	return r.cols, nil
}

// ColumnTypes is not available on pgx rows; Ent asks only for columns it
// does not know (sql.UnknownType), and then scans into *any.
func (*Rows) ColumnTypes() ([]*sql.ColumnType, error) {
	return nil, errors.New("entpgx: column types are not available")
}

// Err is the error that ended the rows, if any.
func (r *Rows) Err() error { return r.rows.Err() }

// NextResultSet: one statement, one result.
func (*Rows) NextResultSet() bool { return false }

// Close releases the connection to the pool.
func (r *Rows) Close() error {
	r.rows.Close()
	return nil
}

// Scan reads the current row. The database/sql null types the generated
// code scans into are read through pgx's typed scanner interfaces instead
// of database/sql's conversion (which boxes every value in an interface);
// dest itself is left as it is, the generated code reads it back.
func (r *Rows) Scan(dest ...any) error {
	if cap(r.dest) < len(dest) {
		r.dest = make([]any, len(dest))
	}
	out := r.dest[:len(dest)]
	for i, d := range dest {
		switch p := d.(type) {
		case *sql.NullString:
			out[i] = (*nullString)(p)
		case *sql.NullInt64:
			out[i] = (*nullInt64)(p)
		case *sql.NullTime:
			out[i] = (*nullTime)(p)
		case *sql.NullBool:
			out[i] = (*nullBool)(p)
		case *sql.NullFloat64:
			out[i] = (*nullFloat64)(p)
		case *driver.Value: // sqlgraph reads returned ids into one; pgx knows *any
			out[i] = (*any)(p)
		default:
			out[i] = d
		}
	}
	err := r.rows.Scan(out...)
	clear(out) // keep no pointer into the caller's values
	return err
}

type (
	nullString  sql.NullString
	nullInt64   sql.NullInt64
	nullTime    sql.NullTime
	nullBool    sql.NullBool
	nullFloat64 sql.NullFloat64
)

func (n *nullString) ScanText(v pgtype.Text) error {
	n.String, n.Valid = v.String, v.Valid
	return nil
}

func (n *nullInt64) ScanInt64(v pgtype.Int8) error {
	n.Int64, n.Valid = v.Int64, v.Valid
	return nil
}

func (n *nullBool) ScanBool(v pgtype.Bool) error {
	n.Bool, n.Valid = v.Bool, v.Valid
	return nil
}

func (n *nullFloat64) ScanFloat64(v pgtype.Float8) error {
	n.Float64, n.Valid = v.Float64, v.Valid
	return nil
}

var errInfinite = errors.New("entpgx: infinite timestamp cannot be scanned into time.Time")

func (n *nullTime) ScanTimestamptz(v pgtype.Timestamptz) error {
	return n.set(v.Time, v.Valid, v.InfinityModifier)
}

func (n *nullTime) ScanTimestamp(v pgtype.Timestamp) error {
	return n.set(v.Time, v.Valid, v.InfinityModifier)
}

func (n *nullTime) ScanDate(v pgtype.Date) error {
	return n.set(v.Time, v.Valid, v.InfinityModifier)
}

func (n *nullTime) set(t time.Time, valid bool, inf pgtype.InfinityModifier) error {
	if valid && inf != pgtype.Finite {
		return errInfinite
	}
	n.Time, n.Valid = t, valid
	return nil
}
