package input_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"

	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"

	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/migrate"
	"github.com/leadmetrics/db/input"
	"github.com/leadmetrics/db/internal/runtime/scope"
	"github.com/leadmetrics/db/internal/testing/tenancytest"
	"github.com/leadmetrics/db/privacy"
)

var sys = privacy.WithSystem(context.Background())

// badValue is a value PostgreSQL refuses (or encoding/json would silently
// alter), and the JSON path the error must name.
type badValue struct {
	name string
	v    any
	path string
}

// badValues returns the refused values that fit a setter of type t.
func badValues(t reflect.Type) []badValue {
	all := []badValue{
		{"nul", "a\x00b", ""},
		{"utf8", "a\xffb", ""},
		{"list-nul", []string{"ok", "a\x00"}, "[1]"},
		{"list-utf8", []string{"\xc3"}, "[0]"},
		{"json-nul", map[string]any{"k": "a\x00"}, `["k"]`},
		{"json-key-utf8", map[string]any{"k\xff": 1}, `["k\xff"]`},
		{"json-nested", map[string]any{"a": []any{1, map[string]any{"b": "x\xffy"}}}, `["a"][1]["b"]`},
	}
	var out []badValue
	for _, b := range all {
		if reflect.TypeOf(b.v).ConvertibleTo(t) {
			out = append(out, b)
		}
	}
	return out
}

// textual says whether a column holds text or JSON: the matrix covers
// every such column of every table.
func textual(c *schema.Column) bool {
	switch c.Type {
	case field.TypeString, field.TypeEnum, field.TypeJSON, field.TypeOther:
		return true
	}
	return false
}

// validFields returns a function giving what a create of typ by the
// system viewer needs: the required fields, tenant_id, and parents of the
// tenant for required links (inserted now, before any fingerprint).
func validFields(env *tenancytest.Env, typ, tenant string) func() map[string]any {
	n, _ := scope.Lookup(typ)
	parents := map[string]any{}
	for col, parent := range tenancytest.RequiredEdges(typ) {
		parents[col] = env.Insert(parent, tenant, nil)
	}
	return func() map[string]any {
		f := tenancytest.RequiredFields(typ)
		if n.Kind == scope.KindOwned {
			f["tenant_id"] = tenant
		}
		maps.Copy(f, parents)
		return f
	}
}

// wantInvalid fails unless err is the typed refusal of field of entity,
// matching input.ErrInvalid, *input.ValidationError and Ent's validation
// error, with no driver error in it.
func wantInvalid(t *testing.T, op, entity, field, path string, err error) {
	t.Helper()
	var verr *input.ValidationError
	switch {
	case err == nil:
		t.Errorf("%s: accepted", op)
	case !errors.Is(err, input.ErrInvalid) || !errors.As(err, &verr):
		t.Errorf("%s: untyped error %v", op, err)
	case verr.Entity != entity || verr.Field != field || verr.Path != path:
		t.Errorf("%s: error names %s.%s%s, want %s.%s%s", op, verr.Entity, verr.Field, verr.Path, entity, field, path)
	case !ent.IsValidationError(err):
		t.Errorf("%s: not an ent validation error: %v", op, err)
	case strings.Contains(err.Error(), "SQLSTATE"):
		t.Errorf("%s: driver error leaked: %v", op, err)
	}
}

// Every text and JSON column of every table x {NUL, invalid UTF-8, bad
// list element, bad JSON value, bad JSON key, bad nested JSON value} x
// {create, bulk create, update, update-one, upsert insert, upsert SET}:
// a typed error naming the entity and field, and no table changed.
func TestMatrix(t *testing.T) {
	env := tenancytest.New(t, 1)
	tenant := env.Tenants[0]
	cases := 0
	for _, tbl := range migrate.Tables {
		n, ok := scope.LookupTable(tbl.Name)
		if !ok {
			t.Fatalf("table %s not registered", tbl.Name)
		}
		t.Run(n.Type, func(t *testing.T) {
			existing := env.Insert(n.Type, tenant, nil)
			var ref string
			if err := env.DB.QueryRow(fmt.Sprintf(`SELECT ref_id FROM %q WHERE id = $1`, tbl.Name), existing).Scan(&ref); err != nil {
				t.Fatal(err)
			}
			valid := validFields(env, n.Type, tenant)
			before := env.Fingerprint()
			for _, c := range tbl.Columns {
				if !textual(c) {
					continue
				}
				st := env.SetterType(n.Type, c.Name)
				if st == nil {
					t.Errorf("no create setter for %s", c.Name)
					continue
				}
				bads := badValues(st)
				if len(bads) == 0 {
					t.Errorf("no bad value fits %s (%s)", c.Name, st)
				}
				for _, bad := range bads {
					op := func(s string) string { return c.Name + "/" + bad.name + "/" + s }
					f := valid()
					f[c.Name] = bad.v
					_, err := env.Create(sys, n.Type, f)
					wantInvalid(t, op("create"), n.Type, c.Name, bad.path, err)
					_, err = env.CreateBulk(sys, n.Type, []map[string]any{valid(), f})
					wantInvalid(t, op("bulk"), n.Type, c.Name, bad.path, err)
					_, err = env.Upsert(sys, n.Type, f)
					wantInvalid(t, op("upsert insert"), n.Type, c.Name, bad.path, err)
					cases += 3
					// The SET of an upsert whose insert conflicts with the existing row.
					f = valid()
					f["ref_id"] = ref
					if err := env.UpsertSet(sys, n.Type, f, map[string]any{c.Name: bad.v}, false); !errors.Is(err, tenancytest.ErrNoSetter) {
						wantInvalid(t, op("upsert set"), n.Type, c.Name, bad.path, err)
						err = env.UpsertSet(sys, n.Type, f, map[string]any{c.Name: bad.v}, true)
						wantInvalid(t, op("bulk upsert set"), n.Type, c.Name, bad.path, err)
						cases += 2
					}
					if n.Immutable {
						continue // updates are refused to everyone (privacy.ErrImmutable)
					}
					if err := env.UpdateOne(sys, n.Type, existing, map[string]any{c.Name: bad.v}); !errors.Is(err, tenancytest.ErrNoSetter) {
						wantInvalid(t, op("update one"), n.Type, c.Name, bad.path, err)
						err = env.UpdateWhereID(sys, n.Type, existing, map[string]any{c.Name: bad.v})
						wantInvalid(t, op("update"), n.Type, c.Name, bad.path, err)
						cases += 2
					}
				}
			}
			if after := env.Fingerprint(); after != before {
				t.Errorf("a refused write changed the database:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
	t.Logf("%d refused writes over %d tables", cases, len(migrate.Tables))
}

// Appending to a list field (Ent's AppendX on updates) is checked too.
func TestAppendChecked(t *testing.T) {
	env := tenancytest.New(t, 1)
	found := 0
	for _, tbl := range migrate.Tables {
		n, _ := scope.LookupTable(tbl.Name)
		for _, c := range tbl.Columns {
			if c.Type != field.TypeJSON || n.Immutable {
				continue
			}
			id := env.Insert(n.Type, env.Tenants[0], nil)
			err := env.AppendOne(sys, n.Type, id, c.Name, []string{"ok", "\x00"})
			if errors.Is(err, tenancytest.ErrNoSetter) {
				continue
			}
			found++
			wantInvalid(t, n.Type+"."+c.Name+" append", n.Type, c.Name, "[1]", err)
		}
	}
	if found == 0 {
		t.Fatal("no list field found: the test checks nothing")
	}
}

// A create whose id is already taken gets the same typed answer whether
// the row is the caller's tenant's or another's, and the same kind of
// error as a link to a missing or foreign row: no constraint name, no
// owner. Every entity, every create path.
func TestTakenID(t *testing.T) {
	env := tenancytest.New(t, 2)
	a, b := env.Tenants[0], env.Tenants[1]
	for _, tbl := range migrate.Tables {
		n, _ := scope.LookupTable(tbl.Name)
		t.Run(n.Type, func(t *testing.T) {
			taken := env.Insert(n.Type, a, nil)
			valid := map[string]func() map[string]any{a: validFields(env, n.Type, a), b: validFields(env, n.Type, b)}
			before := env.Fingerprint()
			var msgs []string
			for _, tenant := range []string{a, b} {
				f := valid[tenant]()
				f["id"] = taken
				_, err := env.Create(sys, n.Type, f)
				msgs = append(msgs, wantTaken(t, "create", n.Type, err))
				// One row: a second row of the same tenant would break
				// other unique keys first (one balance per tenant).
				_, err = env.CreateBulk(sys, n.Type, []map[string]any{f})
				msgs = append(msgs, wantTaken(t, "bulk", n.Type, err))
				_, err = env.Upsert(sys, n.Type, f)
				msgs = append(msgs, wantTaken(t, "upsert", n.Type, err))
			}
			for _, m := range msgs[1:] {
				if m != msgs[0] {
					t.Errorf("answers differ: %q and %q", msgs[0], m)
				}
			}
			if after := env.Fingerprint(); after != before {
				t.Errorf("a refused create changed the database")
			}
		})
	}
}

func wantTaken(t *testing.T, op, entity string, err error) string {
	t.Helper()
	var taken *input.IDTakenError
	switch {
	case err == nil:
		t.Errorf("%s: accepted", op)
		return ""
	case !errors.As(err, &taken) || taken.Entity != entity || !errors.Is(err, privacy.ErrCrossTenantRef) || !ent.IsConstraintError(err):
		t.Errorf("%s: %v, want an IDTakenError of %s", op, err, entity)
	case strings.Contains(err.Error(), "pkey") || strings.Contains(err.Error(), "duplicate") || strings.Contains(err.Error(), "SQLSTATE"):
		t.Errorf("%s: the error names the constraint: %v", op, err)
	}
	return err.Error()
}

// The threat model's case: tenant B, through its own viewer, creates a row
// with an id of tenant A. The answer is the one A gets for its own id, and
// the kind a link to A's row gets.
func TestTakenIDTenantViewer(t *testing.T) {
	env := tenancytest.New(t, 2)
	a, b := env.Tenants[0], env.Tenants[1]
	ctxA, ctxB := privacy.WithTenant(context.Background(), a), privacy.WithTenant(context.Background(), b)
	actA := env.Insert("Activity", a, nil)
	before := env.Fingerprint()
	_, errB := env.Client.Activity.Create().SetID(actA).SetType("t").SetTitle("t").Save(ctxB)
	_, errA := env.Client.Activity.Create().SetID(actA).SetType("t").SetTitle("t").Save(ctxA)
	wantTaken(t, "foreign id", "Activity", errB)
	wantTaken(t, "own id", "Activity", errA)
	if errA != nil && errB != nil && errA.Error() != errB.Error() {
		t.Errorf("own and foreign ids answered differently: %q, %q", errA, errB)
	}
	// A link to A's row: the same sentinel.
	_, errLink := env.Client.Deliverable.Create().SetActivityID(actA).SetKind("report").SetTitle("t").Save(ctxB)
	if !errors.Is(errLink, privacy.ErrCrossTenantRef) {
		t.Errorf("link to another tenant's row: %v", errLink)
	}
	if env.Fingerprint() != before {
		t.Error("a refused create changed the database")
	}
	// A fresh id is still accepted.
	if _, err := env.Client.Activity.Create().SetID(cuid.New()).SetType("t").SetTitle("t").Save(ctxB); err != nil {
		t.Fatal(err)
	}
}

// Currencies through Ent: three upper-case ASCII letters on create, update
// and upsert; "€" (which char(3) would pad and store) is refused.
func TestCurrencyFields(t *testing.T) {
	env := tenancytest.New(t, 1)
	ctx := privacy.WithTenant(context.Background(), env.Tenants[0])
	ok, err := env.Client.Campaign.Create().SetName("c").SetBudgetAmount(1).SetBudgetCurrency("EUR").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := env.Fingerprint()
	for _, bad := range []string{"€", "usd", "US", "USDX", "U\x00D"} {
		_, err := env.Client.Campaign.Create().SetName("c").SetBudgetAmount(1).SetBudgetCurrency(bad).Save(ctx)
		wantCurrency(t, bad+" create", "Campaign", "budget_currency", err)
		err = env.Client.Campaign.UpdateOne(ok).SetBudgetCurrency(bad).Exec(ctx)
		wantCurrency(t, bad+" update", "Campaign", "budget_currency", err)
		err = env.Client.Plan.Create().SetCode("p").SetName("p").SetPriceAmount(1).SetPriceCurrency(bad).Exec(sys)
		wantCurrency(t, bad+" plan", "Plan", "price_currency", err)
	}
	if env.Fingerprint() != before {
		t.Error("a refused currency changed the database")
	}
}

func wantCurrency(t *testing.T, op, entity, field string, err error) {
	t.Helper()
	var verr *input.ValidationError
	if !errors.As(err, &verr) || verr.Entity != entity || verr.Field != field || verr.Reason != input.ReasonCurrency || !ent.IsValidationError(err) {
		t.Errorf("%s: %v, want the currency error of %s.%s", op, err, entity, field)
	}
}

// Values an upsert SETs through the raw UpdateSet (any column, any
// expression) are checked too, and named by the column they are assigned
// to, also after an Add (whose expression carries its own argument).
func TestUpsertRawSet(t *testing.T) {
	env := tenancytest.New(t, 1)
	ctx := privacy.WithTenant(context.Background(), env.Tenants[0])
	a, err := env.Client.Activity.Create().SetType("t").SetTitle("t").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := env.Fingerprint()
	err = env.Client.Activity.Create().SetRefID(a.RefID).SetType("t").SetTitle("t").
		OnConflict(entsql.ConflictColumns("tenant_id", "ref_id"), entsql.ResolveWith(func(u *entsql.UpdateSet) {
			u.Add("attempts", 1)
			u.Set("title", "ok")
			u.Set("error", "x\x00")
		})).Exec(ctx)
	wantInvalid(t, "raw set", "Activity", "error", "", err)
	err = env.Client.Activity.Create().SetRefID(a.RefID).SetType("t").SetTitle("t").
		OnConflictColumns("tenant_id", "ref_id").Update(func(u *ent.ActivityUpsert) {
		u.SetInput(map[string]any{"k": map[string]any{"\xff": "v"}})
	}).Exec(ctx)
	wantInvalid(t, "typed set", "Activity", "input", `["k"]["\xff"]`, err)
	if env.Fingerprint() != before {
		t.Error("a refused upsert changed the database")
	}
	// A clean upsert still updates.
	if err := env.Client.Activity.Create().SetRefID(a.RefID).SetType("t").SetTitle("t").
		OnConflictColumns("tenant_id", "ref_id").Update(func(u *ent.ActivityUpsert) { u.SetTitle("new") }).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if got := env.Client.Activity.GetX(ctx, a.ID).Title; got != "new" {
		t.Fatalf("title %q after a clean upsert", got)
	}
}

// Ids given to edges (AddXIDs, SetXID, RemoveXIDs, on create and update)
// are checked before the cross-tenant check sends them: every edge method
// of every builder, found by reflection.
func TestEdgeIDs(t *testing.T) {
	env := tenancytest.New(t, 1)
	tenant := env.Tenants[0]
	before := ""
	n := 0
	for _, tbl := range migrate.Tables {
		node, _ := scope.LookupTable(tbl.Name)
		valid := validFields(env, node.Type, tenant)
		existing := env.Insert(node.Type, tenant, nil)
		before = env.Fingerprint()
		for _, builder := range []string{"create", "update"} {
			var b reflect.Value
			client := reflect.ValueOf(env.Client).Elem().FieldByName(node.Type)
			if builder == "create" {
				var err error
				if b, err = env.CreateBuilder(node.Type, valid()); err != nil {
					t.Fatal(err)
				}
			} else {
				if node.Immutable {
					continue
				}
				b = client.MethodByName("UpdateOneID").Call([]reflect.Value{reflect.ValueOf(existing)})[0]
			}
			for i := range b.NumMethod() {
				name := b.Type().Method(i).Name
				edgeMethod := strings.HasPrefix(name, "Add") && strings.HasSuffix(name, "IDs") ||
					strings.HasPrefix(name, "Remove") && strings.HasSuffix(name, "IDs") ||
					strings.HasPrefix(name, "Set") && strings.HasSuffix(name, "ID") && name != "SetID"
				mt := b.Type().Method(i).Type // receiver first
				if !edgeMethod || mt.NumIn() != 2 || (mt.In(1).Kind() != reflect.String &&
					(mt.In(1).Kind() != reflect.Slice || mt.In(1).Elem().Kind() != reflect.String)) {
					continue
				}
				// A fresh builder per method: the bad id is the only change.
				var fresh reflect.Value
				if builder == "create" {
					fresh, _ = env.CreateBuilder(node.Type, valid())
				} else {
					fresh = client.MethodByName("UpdateOneID").Call([]reflect.Value{reflect.ValueOf(existing)})[0]
				}
				fresh.MethodByName(name).Call([]reflect.Value{reflect.ValueOf("e\x00")})
				err, _ := fresh.MethodByName("Exec").Call([]reflect.Value{reflect.ValueOf(sys)})[0].Interface().(error)
				var verr *input.ValidationError
				if !errors.As(err, &verr) || verr.Entity != node.Type || !errors.Is(err, input.ErrInvalid) {
					t.Errorf("%s %s.%s: %v", builder, node.Type, name, err)
				}
				n++
			}
		}
		if after := env.Fingerprint(); after != before {
			t.Errorf("%s: a refused edge id changed the database", node.Type)
		}
	}
	if n < 20 {
		t.Fatalf("only %d edge methods found", n)
	}
	t.Logf("%d edge methods", n)
}
