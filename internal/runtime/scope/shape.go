package scope

import (
	"context"
	stdsql "database/sql"
	"encoding/json"
	"hash/maphash"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqlgraph"
	"entgo.io/ent/schema/field"
)

// Statement shapes: a query's SQL text is a function of its shape (entity,
// columns, the viewer's kind of scope, the frozen caller SQL, limit,
// offset, distinct); only its arguments change from call to call. Building
// the text with Ent's builder (quoting every column, rendering every
// predicate) cost more client CPU than the rest of a get by id together, so
// a sealed query with nothing else on its selector is built by Ent once
// per shape: the first execution records the text sqlgraph sends, and later
// ones send that text with the arguments the shape says (the viewer's
// tenant, then the frozen caller arguments). The first execution also
// checks that sqlgraph's arguments are exactly those: a shape whose text
// would take its arguments otherwise is never cached.

// shape identifies the text of a plain sealed query.
type shape struct {
	table         string
	tenantArg     bool // the scope compares tenant_id with an argument
	live          bool // the scope adds deleted_at IS NULL
	where, order  string
	limit, offset int
	unique        bool
}

// maxShapes bounds the cache: callers can make unbounded shapes (limits,
// literals in caller SQL). Past it, new shapes are built every time.
const maxShapes = 4096

var shapes struct {
	sync.RWMutex
	text map[shape]string
}

// shapeHits counts executions that sent a cached text (ShapeHits).
var shapeHits atomic.Int64

// ShapeHits is how many queries ran on a cached text so far (tests).
func ShapeHits() int64 { return shapeHits.Load() }

// VerifyShapes makes every cached execution also build its text with Ent
// and panic if the two differ (tests).
var VerifyShapes bool

// QueryNodes is sqlgraph.QueryNodes for the generated sqlAll. plain says
// the query has nothing on its selector but what sealing puts there (no
// query hooks, no modifiers, no traversal path, the entity's own column
// list defaults); only then is its text cached by shape.
func QueryNodes(ctx context.Context, drv dialect.Driver, spec *sqlgraph.QuerySpec, s *Sealed, columns []string, plain bool) error {
	key, args, ok := s.shapeOf(spec, columns, plain)
	if !ok {
		return sqlgraph.QueryNodes(ctx, drv, spec)
	}
	shapes.RLock()
	text, hit := shapes.text[key]
	shapes.RUnlock()
	if !hit || VerifyShapes {
		rec := &recorder{Driver: drv}
		if hit {
			rec.Driver = nil // build the text only: no rows
		}
		err := sqlgraph.QueryNodes(ctx, rec, spec)
		switch {
		case hit:
			if rec.query != text || !reflect.DeepEqual(rec.args, args) {
				panic("scope: cached statement shape differs from Ent's:\n" + text + "\n" + rec.query)
			}
		case err == nil && rec.query != "" && reflect.DeepEqual(rec.args, args):
			shapes.Lock()
			if shapes.text == nil {
				shapes.text = map[shape]string{}
			}
			if len(shapes.text) < maxShapes {
				shapes.text[key] = rec.query
			}
			shapes.Unlock()
			return nil
		default:
			return err
		}
	}
	shapeHits.Add(1)
	rows := &sql.Rows{}
	if err := drv.Query(ctx, text, args, rows); err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	for rows.Next() {
		values, err := spec.ScanValues(cols)
		if err != nil {
			return err
		}
		for i, v := range values {
			if _, ok := v.(*sql.UnknownType); ok {
				values[i] = sql.ScanTypeOf(rows, i)
			}
		}
		if err := rows.Scan(values...); err != nil {
			return err
		}
		if err := spec.Assign(cols, values); err != nil {
			return err
		}
	}
	return rows.Err()
}

// shapeOf returns the shape of a plain query and the arguments its text
// takes; false when the query is not plain.
func (s *Sealed) shapeOf(spec *sqlgraph.QuerySpec, columns []string, plain bool) (shape, []any, bool) {
	if !plain || s == nil || s.err != nil || spec.From != nil || len(spec.Modifiers) > 0 || spec.Node.Schema != "" ||
		len(spec.Node.Columns) != len(columns) || len(columns) == 0 || &spec.Node.Columns[0] != &columns[0] {
		return shape{}, nil, false
	}
	k := shape{table: spec.Node.Table, limit: spec.Limit, offset: spec.Offset, unique: spec.Unique}
	var tenant any
	k.tenantArg, tenant, k.live = scopeArgs(s.ctx, s.node)
	n := 0
	if k.tenantArg {
		n = 1
	}
	if s.where != nil {
		k.where = s.where.shape()
		n += s.where.nargs()
	}
	for _, o := range s.order {
		if o.nargs() > 0 {
			return shape{}, nil, false
		}
		k.order += o.shape() + ","
	}
	args := make([]any, 0, n)
	if k.tenantArg {
		args = append(args, tenant)
	}
	if s.where != nil {
		args = s.where.appendArgs(args)
	}
	return k, args, true
}

// recorder keeps the statement sqlgraph sends; with no Driver it runs
// nothing and returns no rows (a check that the cached text is Ent's).
type recorder struct {
	dialect.Driver
	query string
	args  []any
}

func (r *recorder) Dialect() string { return dialect.Postgres }

func (r *recorder) Exec(ctx context.Context, query string, args, v any) error {
	r.query, r.args = query, args.([]any)
	if r.Driver == nil {
		return nil
	}
	return r.Driver.Exec(ctx, query, args, v)
}

func (r *recorder) Query(ctx context.Context, query string, args, v any) error {
	r.query, r.args = query, args.([]any)
	if r.Driver == nil {
		*v.(*sql.Rows) = sql.Rows{ColumnScanner: noRows{}}
		return nil
	}
	return r.Driver.Query(ctx, query, args, v)
}

// noRows is an empty result.
type noRows struct{ sql.ColumnScanner }

func (noRows) Next() bool                 { return false }
func (noRows) Err() error                 { return nil }
func (noRows) Close() error               { return nil }
func (noRows) Columns() ([]string, error) { return nil, nil }

// Reusable reports whether scan values can serve every row of a result:
// each is a database/sql null type or a []byte, which the generated
// assignValues copies out of (both drivers give each row's bytes their
// own slice), and none is kept by the entity (unknown columns are).
func Reusable(values []any) bool {
	for _, v := range values {
		switch v.(type) {
		case *stdsql.NullString, *stdsql.NullInt64, *stdsql.NullTime, *stdsql.NullBool, *stdsql.NullFloat64, *[]byte:
		default:
			return false
		}
	}
	return true
}

// Inserts: a plain create (its id set, no ON CONFLICT, no edge held by
// another table) is an INSERT whose text depends only on the table and
// its column sequence, which follows from the fields set. Cached the same
// way as queries: the first one records sqlgraph's text and checks its
// arguments are the column values in order.

// insertShape is one cached INSERT text and its columns.
type insertShape struct {
	table string
	cols  []string
	text  string
}

var inserts struct {
	sync.RWMutex
	by map[uint64][]*insertShape // by the hash of table and columns
	n  int
}

var insertSeed = maphash.MakeSeed()

// createNode is sqlgraph.CreateNode with the text of a plain insert built
// once per column sequence.
func createNode(ctx context.Context, drv dialect.Driver, spec *sqlgraph.CreateSpec) error {
	cols, args, ok := insertColumns(spec)
	if !ok {
		return sqlgraph.CreateNode(ctx, drv, spec)
	}
	var h maphash.Hash
	h.SetSeed(insertSeed)
	h.WriteString(spec.Table)
	for _, c := range cols {
		h.WriteByte(0)
		h.WriteString(c)
	}
	key := h.Sum64()
	inserts.RLock()
	var text string
	for _, s := range inserts.by[key] {
		if s.table == spec.Table && slices.Equal(s.cols, cols) {
			text = s.text
			break
		}
	}
	inserts.RUnlock()
	if text == "" || VerifyShapes {
		rec := &recorder{Driver: drv}
		if text != "" {
			rec.Driver = nil
		}
		err := sqlgraph.CreateNode(ctx, rec, spec)
		switch {
		case text != "":
			if rec.query != text || !reflect.DeepEqual(rec.args, args) {
				panic("scope: cached insert differs from Ent's:\n" + text + "\n" + rec.query)
			}
		case err == nil && reflect.DeepEqual(rec.args, args):
			inserts.Lock()
			if inserts.by == nil {
				inserts.by = map[uint64][]*insertShape{}
			}
			if inserts.n < maxShapes {
				inserts.by[key] = append(inserts.by[key], &insertShape{table: spec.Table, cols: cols, text: rec.query})
				inserts.n++
			}
			inserts.Unlock()
			return nil
		default:
			return err
		}
	}
	shapeHits.Add(1)
	return drv.Exec(ctx, text, args, nil)
}

// insertColumns returns the columns sqlgraph inserts for spec, in its
// order (fields, foreign keys held by this table, the id last), and their
// values as sqlgraph sends them; false when spec is not a plain insert.
func insertColumns(spec *sqlgraph.CreateSpec) ([]string, []any, bool) {
	if len(spec.OnConflict) > 0 || spec.ID == nil || spec.ID.Value == nil || spec.Schema != "" {
		return nil, nil, false
	}
	n := len(spec.Fields) + len(spec.Edges) + 1
	cols, args := make([]string, 0, n), make([]any, 0, n)
	for _, f := range spec.Fields {
		v := f.Value
		if f.Type == field.TypeJSON {
			buf, err := json.Marshal(v)
			if err != nil {
				return nil, nil, false // sqlgraph reports it
			}
			v = json.RawMessage(buf)
		}
		cols, args = append(cols, f.Column), append(args, v)
	}
	for _, rel := range []sqlgraph.Rel{sqlgraph.M2O, sqlgraph.O2O} {
		for _, e := range spec.Edges {
			if e.Rel == rel && (rel == sqlgraph.M2O || e.Inverse || e.Bidi) && len(e.Target.Nodes) == 1 {
				cols, args = append(cols, e.Columns[0]), append(args, e.Target.Nodes[0])
			}
		}
	}
	if len(cols) != n-1 { // an edge another table holds (a statement of its own)
		return nil, nil, false
	}
	cols, args = append(cols, spec.ID.Column), append(args, spec.ID.Value)
	return cols, args, true
}
