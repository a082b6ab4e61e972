// Package tenancytest builds rows of any entity for the isolation tests,
// from the schema graph (ent/migrate tables and the scope registry), so no
// test lists entities or fields by hand.
package tenancytest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/entc/gen"
	"entgo.io/ent/schema/field"

	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/migrate"
	"github.com/leadmetrics/db/internal/runtime/scope"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/privacy"
)

// Pascal is Ent's Go name for a field or edge name ("agent_config_id" →
// "AgentConfigID").
var Pascal = gen.Funcs["pascal"].(func(string) string)

// ErrNoSetter: the builder has no setter for the field (an immutable
// field on an update, the id on an upsert's SET).
var ErrNoSetter = errors.New("tenancytest: no setter for")

// Env is a migrated database with tenants.
type Env struct {
	T       testing.TB
	Client  *ent.Client
	DB      *sql.DB
	Tenants []string
}

// New returns an Env with n tenants created by the system viewer.
func New(t testing.TB, n int) *Env {
	t.Helper()
	client, db := suitedb.Client(t)
	e := &Env{T: t, Client: client, DB: db}
	sys := privacy.WithSystem(context.Background())
	for i := range n {
		tn, err := client.Tenant.Create().SetName(fmt.Sprintf("Tenant %d", i)).
			SetSlug(fmt.Sprintf("tenant-%d-%s", i, Token(8))).Save(sys)
		if err != nil {
			t.Fatalf("create tenant: %v", err)
		}
		e.Tenants = append(e.Tenants, tn.ID)
	}
	return e
}

var counter atomic.Int64

// Token returns a unique lower-case token of at most n characters.
func Token(n int) string {
	s := "v" + strconv.FormatInt(counter.Add(1), 36) + strings.ToLower(cuid.New()[1:])
	return s[:min(n, len(s))]
}

// Table returns the migrate table of an entity type.
func Table(typ string) *schema.Table {
	n, ok := scope.Lookup(typ)
	if !ok {
		panic("tenancytest: unknown type " + typ)
	}
	for _, t := range migrate.Tables {
		if t.Name == n.Table {
			return t
		}
	}
	panic("tenancytest: no table for " + typ)
}

// fkTarget returns the table a column references, if it is a foreign key.
func fkTarget(t *schema.Table, column string) (string, bool) {
	for _, fk := range t.ForeignKeys {
		if len(fk.Columns) == 1 && fk.Columns[0].Name == column {
			return fk.RefTable.Name, true
		}
	}
	return "", false
}

// baseColumns are set by the layer, never by the fixture's field values.
var baseColumns = map[string]bool{"id": true, "ref_id": true, "tenant_id": true, "created_at": true, "updated_at": true, "deleted_at": true}

// intSeq makes integer values unique and positive, like the ledger's
// per-tenant entry number (unique with the tenant).
var intSeq atomic.Int64

// Value returns a valid value for a required column, unique for strings
// and integers.
func Value(c *schema.Column) any {
	switch c.Type {
	case field.TypeEnum:
		return c.Enums[0]
	case field.TypeString:
		if c.Size == 3 {
			return "USD"
		}
		size := int(c.Size)
		if size <= 0 || size > 64 {
			size = 24
		}
		return Token(size)
	case field.TypeInt, field.TypeInt64, field.TypeInt32, field.TypeInt16, field.TypeInt8,
		field.TypeUint, field.TypeUint64, field.TypeUint32, field.TypeFloat64:
		return int(intSeq.Add(1))
	case field.TypeBool:
		return false
	case field.TypeTime:
		return time.Now()
	case field.TypeBytes:
		return []byte("x")
	case field.TypeJSON:
		return map[string]any{}
	}
	panic(fmt.Sprintf("tenancytest: no value for %s (%s)", c.Name, c.Type))
}

// Insert writes a row of typ for tenant with raw SQL (the escape hatch,
// bypassing the layer) and returns its id. fks sets foreign-key columns; a
// required foreign key not given gets a new parent row of the same tenant.
func (e *Env) Insert(typ, tenant string, fks map[string]string) string {
	e.T.Helper()
	t := Table(typ)
	n, _ := scope.Lookup(typ)
	id := cuid.New()
	owner := tenant
	switch n.Kind {
	case scope.KindTenant:
		owner = id
	case scope.KindShared:
		owner = scope.PlatformTenantID
	}
	cols := []string{"id", "ref_id", "tenant_id", "created_at", "updated_at"}
	vals := []any{id, cuid.New(), owner, time.Now(), time.Now()}
	for _, c := range t.Columns {
		if baseColumns[c.Name] {
			continue
		}
		if ref, ok := fkTarget(t, c.Name); ok {
			v, given := fks[c.Name]
			switch {
			case given:
			case !c.Nullable:
				rn, _ := scope.LookupTable(ref)
				v = e.Insert(rn.Type, tenant, nil)
			default:
				continue
			}
			cols, vals = append(cols, c.Name), append(vals, v)
			continue
		}
		if c.Nullable || c.Default != nil {
			continue
		}
		v := Value(c)
		if c.Type == field.TypeJSON {
			v = "{}"
		}
		cols, vals = append(cols, c.Name), append(vals, v)
	}
	q, args := entsql.Dialect("postgres").Insert(t.Name).Columns(cols...).Values(vals...).Query()
	if _, err := e.DB.Exec(q, args...); err != nil {
		e.T.Fatalf("insert %s: %v", typ, err)
	}
	return id
}

// client returns the typed client of typ (client.Activity, ...).
func (e *Env) client(typ string) reflect.Value {
	v := reflect.ValueOf(e.Client).Elem().FieldByName(typ)
	if !v.IsValid() {
		e.T.Fatalf("tenancytest: client has no %s", typ)
	}
	return v
}

func call(v reflect.Value, method string, args ...any) []reflect.Value {
	m := v.MethodByName(method)
	if !m.IsValid() {
		panic(fmt.Sprintf("tenancytest: %s has no method %s", v.Type(), method))
	}
	in := make([]reflect.Value, len(args))
	for i, a := range args {
		in[i] = reflect.ValueOf(a)
	}
	return m.Call(in)
}

func errOf(out []reflect.Value) error {
	if err, _ := out[len(out)-1].Interface().(error); err != nil {
		return err
	}
	return nil
}

// set calls the typed setter of field on a mutation or builder, converting
// v to the setter's parameter type (enums are named string types).
func set(b reflect.Value, name string, v any) error {
	m := b.MethodByName("Set" + Pascal(name))
	if !m.IsValid() {
		return fmt.Errorf("%w %s", ErrNoSetter, name)
	}
	pt := m.Type().In(0)
	rv := reflect.ValueOf(v)
	if !rv.Type().AssignableTo(pt) {
		if !rv.Type().ConvertibleTo(pt) {
			return fmt.Errorf("setter %s wants %s, have %T", name, pt, v)
		}
		rv = rv.Convert(pt)
	}
	m.Call([]reflect.Value{rv})
	return nil
}

// RequiredFields returns a value for every field a create of typ must set.
func RequiredFields(typ string) map[string]any {
	t := Table(typ)
	out := map[string]any{}
	for _, c := range t.Columns {
		if baseColumns[c.Name] || c.Nullable || c.Default != nil {
			continue
		}
		if _, ok := fkTarget(t, c.Name); ok {
			continue
		}
		out[c.Name] = Value(c)
	}
	return out
}

// RequiredEdges returns the foreign-key columns a create of typ must set,
// with the entity each points to.
func RequiredEdges(typ string) map[string]string {
	t := Table(typ)
	out := map[string]string{}
	for _, c := range t.Columns {
		if ref, ok := fkTarget(t, c.Name); ok && !c.Nullable {
			rn, _ := scope.LookupTable(ref)
			out[c.Name] = rn.Type
		}
	}
	return out
}

// CreateBuilder returns client.<typ>.Create() with fields set.
func (e *Env) CreateBuilder(typ string, fields map[string]any) (reflect.Value, error) {
	b := call(e.client(typ), "Create")[0]
	for k, v := range fields {
		if err := set(b, k, v); err != nil {
			return b, err
		}
	}
	return b, nil
}

// Create creates a row of typ through Ent with ctx's viewer.
func (e *Env) Create(ctx context.Context, typ string, fields map[string]any) (string, error) {
	b, err := e.CreateBuilder(typ, fields)
	if err != nil {
		return "", err
	}
	out := call(b, "Save", ctx)
	if err := errOf(out); err != nil {
		return "", err
	}
	return out[0].Elem().FieldByName("ID").String(), nil
}

// CreateBulk creates rows through Ent's CreateBulk with ctx's viewer.
func (e *Env) CreateBulk(ctx context.Context, typ string, rows []map[string]any) ([]string, error) {
	c := e.client(typ)
	bs := reflect.MakeSlice(reflect.SliceOf(c.MethodByName("Create").Type().Out(0)), 0, len(rows))
	for _, r := range rows {
		b, err := e.CreateBuilder(typ, r)
		if err != nil {
			return nil, err
		}
		bs = reflect.Append(bs, b)
	}
	out := c.MethodByName("CreateBulk").CallSlice([]reflect.Value{bs})
	res := call(out[0], "Save", ctx)
	if err := errOf(res); err != nil {
		return nil, err
	}
	var ids []string
	for i := 0; i < res[0].Len(); i++ {
		ids = append(ids, res[0].Index(i).Elem().FieldByName("ID").String())
	}
	return ids, nil
}

// Upsert creates or updates (on tenant_id, ref_id) a row of typ.
func (e *Env) Upsert(ctx context.Context, typ string, fields map[string]any, conflict ...string) (string, error) {
	b, err := e.CreateBuilder(typ, fields)
	if err != nil {
		return "", err
	}
	if len(conflict) == 0 {
		conflict = []string{"tenant_id", "ref_id"}
	}
	u := call(b, "OnConflictColumns", toAny(conflict)...)[0]
	u = call(u, "UpdateNewValues")[0]
	out := call(u, "ID", ctx)
	if err := errOf(out); err != nil {
		return "", err
	}
	return out[0].String(), nil
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i := range s {
		out[i] = s[i]
	}
	return out
}

// UpdateOne sets fields on row id of typ.
func (e *Env) UpdateOne(ctx context.Context, typ, id string, fields map[string]any) error {
	b := call(e.client(typ), "UpdateOneID", id)[0]
	for k, v := range fields {
		if err := set(b, k, v); err != nil {
			return err
		}
	}
	return errOf(call(b, "Exec", ctx))
}

// DeleteOne deletes row id of typ.
func (e *Env) DeleteOne(ctx context.Context, typ, id string) error {
	return errOf(call(call(e.client(typ), "DeleteOneID", id)[0], "Exec", ctx))
}

// DeleteWhereID deletes the rows of typ with the given ids (bulk delete).
func (e *Env) DeleteWhereID(ctx context.Context, typ string, ids ...string) (int, error) {
	d := call(e.client(typ), "Delete")[0]
	d = e.where(d, entsql.FieldIn("id", ids...))
	out := call(d, "Exec", ctx)
	if err := errOf(out); err != nil {
		return 0, err
	}
	return int(out[0].Int()), nil
}

// where applies a storage predicate to a builder's typed Where.
func (e *Env) where(b reflect.Value, p func(*entsql.Selector)) reflect.Value {
	m := b.MethodByName("Where")
	pt := m.Type().In(0).Elem()
	return m.Call([]reflect.Value{reflect.ValueOf(p).Convert(pt)})[0]
}

// Query returns client.<typ>.Query().
func (e *Env) Query(typ string) reflect.Value { return call(e.client(typ), "Query")[0] }

// Where adds a storage predicate to a query.
func (e *Env) Where(q reflect.Value, p func(*entsql.Selector)) reflect.Value { return e.where(q, p) }

// IDs runs q.IDs(ctx).
func IDs(ctx context.Context, q reflect.Value) ([]string, error) {
	out := call(q, "IDs", ctx)
	if err := errOf(out); err != nil {
		return nil, err
	}
	return out[0].Interface().([]string), nil
}

// VisibleIDs returns the ids of typ the viewer of ctx reads.
func (e *Env) VisibleIDs(ctx context.Context, typ string) ([]string, error) {
	return IDs(ctx, e.Query(typ))
}

// Owner returns the tenant_id column of row id of typ, read with raw SQL.
func (e *Env) Owner(typ, id string) string {
	var owner string
	n, _ := scope.Lookup(typ)
	if err := e.DB.QueryRow(fmt.Sprintf(`SELECT tenant_id FROM %q WHERE id = $1`, n.Table), id).Scan(&owner); err != nil {
		e.T.Fatalf("owner of %s %s: %v", typ, id, err)
	}
	return owner
}

// CrossTenantLinks lists every stored foreign key that points at another
// tenant's row (shared platform rows aside), for every foreign key of the
// schema; empty means the database holds no cross-tenant link. A child row
// whose key finds no parent in its own tenant (nor, for a shared entity,
// the platform's) is one. The subquery joins on tenant_id, so on Citus it
// runs on each shard group (co-located) instead of repartitioning.
func (e *Env) CrossTenantLinks() []string {
	var bad []string
	for _, t := range migrate.Tables {
		for _, fk := range t.ForeignKeys {
			owner := "p.tenant_id = c.tenant_id"
			if n, ok := scope.LookupTable(fk.RefTable.Name); ok && n.Kind == scope.KindShared {
				owner = "p.tenant_id IN (c.tenant_id, $1)"
			}
			col := fk.Columns[0].Name
			q := fmt.Sprintf(`SELECT c.id FROM %q c WHERE c.%q IS NOT NULL
				AND NOT EXISTS (SELECT 1 FROM %q p WHERE p.id = c.%q AND %s)`, t.Name, col, fk.RefTable.Name, col, owner)
			args := []any{}
			if strings.Contains(owner, "$1") {
				args = append(args, privacy.PlatformTenantID)
			}
			rows, err := e.DB.Query(q, args...)
			if err != nil {
				e.T.Fatalf("cross-tenant links of %s.%s: %v", t.Name, col, err)
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					e.T.Fatal(err)
				}
				bad = append(bad, t.Name+"."+col+" of "+id)
			}
			rows.Close()
		}
	}
	return bad
}

// TenantSnapshot digests every row owned by tenant (its own Tenant row
// included), read with raw SQL, to prove an attempt changed nothing.
func (e *Env) TenantSnapshot(tenant string) string {
	var b strings.Builder
	for _, t := range migrate.Tables {
		var s sql.NullString
		q := fmt.Sprintf(`SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM %q t WHERE tenant_id = $1`, t.Name)
		if err := e.DB.QueryRow(q, tenant).Scan(&s); err != nil {
			e.T.Fatalf("snapshot %s: %v", t.Name, err)
		}
		fmt.Fprintf(&b, "%s=%s;", t.Name, s.String)
	}
	return b.String()
}

// SetterType returns the parameter type of the create builder's setter of
// field, or nil when there is none.
func (e *Env) SetterType(typ, field string) reflect.Type {
	m := call(e.client(typ), "Create")[0].MethodByName("Set" + Pascal(field))
	if !m.IsValid() {
		return nil
	}
	return m.Type().In(0)
}

// UpsertSet creates a row of typ with fields and, on conflict on
// (tenant_id, ref_id), SETs set through the upsert's typed setters
// (OnConflict...Update(func(u) { u.SetX(v) })).
// With bulk, the row is created through CreateBulk.
func (e *Env) UpsertSet(ctx context.Context, typ string, fields, setVals map[string]any, bulk bool) error {
	b, err := e.CreateBuilder(typ, fields)
	if err != nil {
		return err
	}
	if bulk {
		bs := reflect.MakeSlice(reflect.SliceOf(b.Type()), 0, 1)
		b = e.client(typ).MethodByName("CreateBulk").CallSlice([]reflect.Value{reflect.Append(bs, b)})[0]
	}
	u := call(b, "OnConflictColumns", "tenant_id", "ref_id")[0]
	update := u.MethodByName("Update")
	upsertType := update.Type().In(0).In(0) // *XUpsert
	for k := range setVals {
		if _, ok := upsertType.MethodByName("Set" + Pascal(k)); !ok {
			return fmt.Errorf("%w %s", ErrNoSetter, k)
		}
	}
	var setErr error
	fn := reflect.MakeFunc(update.Type().In(0), func(args []reflect.Value) []reflect.Value {
		for k, v := range setVals {
			if err := set(args[0], k, v); err != nil && setErr == nil {
				setErr = err
			}
		}
		return nil
	})
	u = update.Call([]reflect.Value{fn})[0]
	if err := errOf(call(u, "Exec", ctx)); err != nil {
		return err
	}
	return setErr
}

// Fingerprint digests every row of every table (count and content hash),
// read with raw SQL, to prove a refused write changed nothing anywhere.
func (e *Env) Fingerprint() string {
	var b strings.Builder
	for _, t := range migrate.Tables {
		var s string
		q := fmt.Sprintf(`SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t.id)), '') FROM %q t`, t.Name)
		if err := e.DB.QueryRow(q).Scan(&s); err != nil {
			e.T.Fatalf("fingerprint %s: %v", t.Name, err)
		}
		fmt.Fprintf(&b, "%s=%s;", t.Name, s)
	}
	return b.String()
}

// UpdateWhereID sets fields on the rows of typ with id (bulk update).
func (e *Env) UpdateWhereID(ctx context.Context, typ, id string, fields map[string]any) error {
	u := e.where(call(e.client(typ), "Update")[0], entsql.FieldIn("id", id))
	for k, v := range fields {
		if err := set(u, k, v); err != nil {
			return err
		}
	}
	return errOf(call(u, "Exec", ctx))
}

// AppendOne appends v to the list field of row id of typ (AppendX).
func (e *Env) AppendOne(ctx context.Context, typ, id, field string, v any) error {
	u := call(e.client(typ), "UpdateOneID", id)[0]
	m := u.MethodByName("Append" + Pascal(field))
	if !m.IsValid() || !reflect.TypeOf(v).ConvertibleTo(m.Type().In(0)) {
		return fmt.Errorf("%w append %s", ErrNoSetter, field)
	}
	m.Call([]reflect.Value{reflect.ValueOf(v).Convert(m.Type().In(0))})
	return errOf(call(u, "Exec", ctx))
}
