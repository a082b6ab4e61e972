package studio

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/intercept"
	"github.com/leadmetrics/db/ent/migrate"
)

// row is one entity row as the pages show it: column name to value, by
// the JSON names of the entity's fields (sensitive fields have none).
type row map[string]any

func (r row) id() string { s, _ := r["id"].(string); return s }

// entity is what the studio knows of one Ent entity: its table (columns,
// indexes, foreign keys from the generated migrate package) and typed
// access through the generated client, so every read and write goes
// through the client's privacy policies and hooks.
type entity struct {
	Table    string
	Type     string // the Ent type name
	ReadOnly string // why it is never editable ("" when it is)

	columns   []*schema.Column
	filters   []string          // columns an index leading with tenant_id serves
	selective map[string]bool   // filters whose values match few rows: keys, unique columns
	sorts     []string          // "id", and "created_at" when (tenant_id, created_at) is indexed
	links     map[string]string // foreign key column -> referenced table
	sensitive map[string]bool   // columns with no JSON name on the entity (sealed secrets): never shown
	fieldType map[string]reflect.Type

	query  func(c *ent.Client) (intercept.Query, func(context.Context) ([]row, error))
	update func(c *ent.Client, id string) (ent.Mutation, func(context.Context) error)
}

// def registers an entity: q builds its query, u its update of one row.
func def[T any, Q ent.Query](typ string, q func(*ent.Client) Q, all func(Q, context.Context) ([]T, error),
	u func(*ent.Client, string) (ent.Mutation, func(context.Context) error)) *entity {
	e := &entity{Type: typ, update: u, sensitive: map[string]bool{}, fieldType: map[string]reflect.Type{},
		links: map[string]string{}, selective: map[string]bool{}}
	e.query = func(c *ent.Client) (intercept.Query, func(context.Context) ([]row, error)) {
		raw := q(c)
		iq, err := intercept.NewQuery(raw)
		if err != nil {
			panic(err) // every generated query type is known to intercept
		}
		return iq, func(ctx context.Context) ([]row, error) {
			ts, err := all(raw, ctx)
			if err != nil {
				return nil, err
			}
			rows := make([]row, len(ts))
			for i, t := range ts {
				if rows[i], err = toRow(t); err != nil {
					return nil, err
				}
			}
			return rows, nil
		}
	}
	var zero T
	st := reflect.TypeOf(zero)
	if st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	for i := 0; i < st.NumField(); i++ {
		f := st.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" && name != "edges" {
			e.fieldType[name] = f.Type
		}
	}
	return e
}

// toRow reads the entity struct's fields by their JSON names (not its
// JSON: omitempty would hide zeros): times as RFC 3339 text, nil for an
// unset nillable field. Sensitive fields have no JSON name and no place.
func toRow(v any) (row, error) {
	rv := reflect.Indirect(reflect.ValueOf(v))
	if rv.Kind() != reflect.Struct {
		return nil, fmt.Errorf("studio: %T is not an entity", v)
	}
	r := row{}
	st := rv.Type()
	for i := 0; i < st.NumField(); i++ {
		name, _, _ := strings.Cut(st.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" || name == "edges" || !st.Field(i).IsExported() {
			continue
		}
		f := rv.Field(i)
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				r[name] = nil
				continue
			}
			f = f.Elem()
		}
		switch x := f.Interface().(type) {
		case time.Time:
			r[name] = x.UTC().Format(time.RFC3339Nano)
		default:
			if f.Kind() == reflect.String {
				r[name] = f.String() // enums: their text
			} else {
				r[name] = x
			}
		}
	}
	return r, nil
}

// upd adapts a generated UpdateOne builder.
func upd[U interface{ Exec(context.Context) error }](u U, m ent.Mutation) (ent.Mutation, func(context.Context) error) {
	return m, u.Exec
}

func all[T any, Q interface {
	All(context.Context) ([]T, error)
}](q Q, ctx context.Context) ([]T, error) {
	return q.All(ctx)
}

// Entities the ledger owns are never written here: the ledger package
// posts them, with its own invariants.
const ledgerOwned = "written by the ledger only (postings), never here"

var entities = func() map[string]*entity {
	list := []*entity{
		def("Activity", func(c *ent.Client) *ent.ActivityQuery { return c.Activity.Query() }, all[*ent.Activity],
			func(c *ent.Client, id string) (ent.Mutation, func(context.Context) error) {
				u := c.Activity.UpdateOneID(id)
				return upd(u, u.Mutation())
			}),
		def("AgentConfig", func(c *ent.Client) *ent.AgentConfigQuery { return c.AgentConfig.Query() }, all[*ent.AgentConfig],
			func(c *ent.Client, id string) (ent.Mutation, func(context.Context) error) {
				u := c.AgentConfig.UpdateOneID(id)
				return upd(u, u.Mutation())
			}),
		def("AuditLog", func(c *ent.Client) *ent.AuditLogQuery { return c.AuditLog.Query() }, all[*ent.AuditLog], nil),
		def("BillingEvent", func(c *ent.Client) *ent.BillingEventQuery { return c.BillingEvent.Query() }, all[*ent.BillingEvent],
			func(c *ent.Client, id string) (ent.Mutation, func(context.Context) error) {
				u := c.BillingEvent.UpdateOneID(id)
				return upd(u, u.Mutation())
			}),
		def("Campaign", func(c *ent.Client) *ent.CampaignQuery { return c.Campaign.Query() }, all[*ent.Campaign],
			func(c *ent.Client, id string) (ent.Mutation, func(context.Context) error) {
				u := c.Campaign.UpdateOneID(id)
				return upd(u, u.Mutation())
			}),
		def("Credential", func(c *ent.Client) *ent.CredentialQuery { return c.Credential.Query() }, all[*ent.Credential],
			func(c *ent.Client, id string) (ent.Mutation, func(context.Context) error) {
				u := c.Credential.UpdateOneID(id)
				return upd(u, u.Mutation())
			}),
		def("CreditBalance", func(c *ent.Client) *ent.CreditBalanceQuery { return c.CreditBalance.Query() }, all[*ent.CreditBalance], nil),
		def("CreditLedgerEntry", func(c *ent.Client) *ent.CreditLedgerEntryQuery { return c.CreditLedgerEntry.Query() }, all[*ent.CreditLedgerEntry], nil),
		def("CreditPack", func(c *ent.Client) *ent.CreditPackQuery { return c.CreditPack.Query() }, all[*ent.CreditPack],
			func(c *ent.Client, id string) (ent.Mutation, func(context.Context) error) {
				u := c.CreditPack.UpdateOneID(id)
				return upd(u, u.Mutation())
			}),
		def("Deliverable", func(c *ent.Client) *ent.DeliverableQuery { return c.Deliverable.Query() }, all[*ent.Deliverable],
			func(c *ent.Client, id string) (ent.Mutation, func(context.Context) error) {
				u := c.Deliverable.UpdateOneID(id)
				return upd(u, u.Mutation())
			}),
		def("DispatchLog", func(c *ent.Client) *ent.DispatchLogQuery { return c.DispatchLog.Query() }, all[*ent.DispatchLog],
			func(c *ent.Client, id string) (ent.Mutation, func(context.Context) error) {
				u := c.DispatchLog.UpdateOneID(id)
				return upd(u, u.Mutation())
			}),
		def("HitlApproval", func(c *ent.Client) *ent.HitlApprovalQuery { return c.HitlApproval.Query() }, all[*ent.HitlApproval],
			func(c *ent.Client, id string) (ent.Mutation, func(context.Context) error) {
				u := c.HitlApproval.UpdateOneID(id)
				return upd(u, u.Mutation())
			}),
		def("Integration", func(c *ent.Client) *ent.IntegrationQuery { return c.Integration.Query() }, all[*ent.Integration],
			func(c *ent.Client, id string) (ent.Mutation, func(context.Context) error) {
				u := c.Integration.UpdateOneID(id)
				return upd(u, u.Mutation())
			}),
		def("LlmCallLog", func(c *ent.Client) *ent.LlmCallLogQuery { return c.LlmCallLog.Query() }, all[*ent.LlmCallLog],
			func(c *ent.Client, id string) (ent.Mutation, func(context.Context) error) {
				u := c.LlmCallLog.UpdateOneID(id)
				return upd(u, u.Mutation())
			}),
		def("NotificationProvider", func(c *ent.Client) *ent.NotificationProviderQuery { return c.NotificationProvider.Query() }, all[*ent.NotificationProvider],
			func(c *ent.Client, id string) (ent.Mutation, func(context.Context) error) {
				u := c.NotificationProvider.UpdateOneID(id)
				return upd(u, u.Mutation())
			}),
		def("Plan", func(c *ent.Client) *ent.PlanQuery { return c.Plan.Query() }, all[*ent.Plan],
			func(c *ent.Client, id string) (ent.Mutation, func(context.Context) error) {
				u := c.Plan.UpdateOneID(id)
				return upd(u, u.Mutation())
			}),
		def("Tenant", func(c *ent.Client) *ent.TenantQuery { return c.Tenant.Query() }, all[*ent.Tenant],
			func(c *ent.Client, id string) (ent.Mutation, func(context.Context) error) {
				u := c.Tenant.UpdateOneID(id)
				return upd(u, u.Mutation())
			}),
		def("TopupOrder", func(c *ent.Client) *ent.TopupOrderQuery { return c.TopupOrder.Query() }, all[*ent.TopupOrder],
			func(c *ent.Client, id string) (ent.Mutation, func(context.Context) error) {
				u := c.TopupOrder.UpdateOneID(id)
				return upd(u, u.Mutation())
			}),
		def("User", func(c *ent.Client) *ent.UserQuery { return c.User.Query() }, all[*ent.User],
			func(c *ent.Client, id string) (ent.Mutation, func(context.Context) error) {
				u := c.User.UpdateOneID(id)
				return upd(u, u.Mutation())
			}),
	}
	byTable := map[string]*entity{}
	tables := map[string]*schema.Table{}
	for _, t := range migrate.Tables {
		tables[t.Name] = t
	}
	for _, e := range list {
		var t *schema.Table
		for _, tt := range migrate.Tables {
			if typeOfTable(tt.Name) == e.Type {
				t = tt
			}
		}
		if t == nil {
			panic("studio: no table for " + e.Type)
		}
		e.Table, e.columns = t.Name, t.Columns
		for _, c := range t.Columns {
			if _, ok := e.fieldType[c.Name]; !ok && c.Name != "id" {
				e.sensitive[c.Name] = true
			}
		}
		e.sorts = []string{"id"}
		seen := map[string]bool{}
		for _, ix := range t.Indexes {
			// A partial index serves only its own predicate's rows.
			if len(ix.Columns) < 2 || ix.Columns[0].Name != "tenant_id" || ix.Annotation != nil && ix.Annotation.Where != "" {
				continue
			}
			c := ix.Columns[1].Name
			if c == "created_at" && len(ix.Columns) == 2 {
				e.sorts = append(e.sorts, c)
				continue
			}
			if !seen[c] && !e.sensitive[c] {
				seen[c] = true
				e.filters = append(e.filters, c)
			}
			if ix.Unique || strings.HasSuffix(c, "_id") {
				e.selective[c] = true
			}
		}
		sort.Strings(e.filters)
		for _, fk := range t.ForeignKeys {
			for _, c := range fk.Columns {
				if c.Name != "tenant_id" {
					e.links[c.Name] = fk.RefTable.Name
				}
			}
		}
		switch {
		case e.update != nil:
		case e.Type == "AuditLog":
			e.ReadOnly = "append-only: the record of who changed what"
		default:
			e.ReadOnly = ledgerOwned
		}
		byTable[e.Table] = e
	}
	return byTable
}()

// typeOfTable maps a table name to its Ent type name ("llm_call_logs" ->
// "LlmCallLog"), following Ent's own naming.
func typeOfTable(table string) string {
	name := strings.TrimSuffix(table, "s")
	switch table {
	case "activities":
		name = "activity"
	case "credit_ledger_entries":
		name = "credit_ledger_entry"
	}
	var b strings.Builder
	for _, p := range strings.Split(name, "_") {
		if p != "" {
			b.WriteString(strings.ToUpper(p[:1]) + p[1:])
		}
	}
	return b.String()
}

// entityNames lists the tables in name order.
func entityNames() []string {
	names := make([]string, 0, len(entities))
	for n := range entities {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// references lists (table, column) pairs whose foreign key points at
// table and which the referencing table can filter on: the edges from
// other entities to a row, shown as links to filtered lists.
func references(table string) [][2]string {
	var out [][2]string
	for _, n := range entityNames() {
		e := entities[n]
		for col, ref := range e.links {
			if ref == table && e.canFilter(col) {
				out = append(out, [2]string{n, col})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0]+out[i][1] < out[j][0]+out[j][1] })
	return out
}

func (e *entity) canFilter(col string) bool {
	for _, f := range e.filters {
		if f == col {
			return true
		}
	}
	return false
}

func (e *entity) canSort(col string) bool {
	for _, s := range e.sorts {
		if s == col {
			return true
		}
	}
	return false
}

func (e *entity) column(name string) *schema.Column {
	for _, c := range e.columns {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// notEditable are the columns the layer owns on every entity.
var notEditable = map[string]bool{"id": true, "ref_id": true, "tenant_id": true, "created_at": true, "updated_at": true, "deleted_at": true}

// editable reports whether the studio offers an edit of column; the layer
// may still refuse it (immutable and system-only fields, the lifecycle
// gate), and says why.
func (e *entity) editable(col string) bool {
	_, known := e.fieldType[col]
	return e.ReadOnly == "" && known && !notEditable[col] && !e.sensitive[col]
}

// parseValue converts the text of a form into the Go value the mutation's
// SetField takes for col; clear is true for an empty text on a field that
// can be cleared.
func (e *entity) parseValue(col, text string) (v any, clear bool, err error) {
	t, ok := e.fieldType[col]
	if !ok {
		return nil, false, fmt.Errorf("%w: %s has no field %q", ErrBadInput, e.Table, col)
	}
	c := e.column(col)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
		if text == "" {
			return nil, true, nil
		}
	}
	if text == "" && c != nil && c.Nullable {
		return nil, true, nil
	}
	p := reflect.New(t).Elem()
	switch {
	case t == reflect.TypeOf(time.Time{}):
		at, err := time.Parse(time.RFC3339, text)
		if err != nil {
			return nil, false, fmt.Errorf("%w: %s: want a time like 2026-12-06T09:00:00Z", ErrBadInput, col)
		}
		p.Set(reflect.ValueOf(at))
	case t.Kind() == reflect.String:
		p.SetString(text)
	case t.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return nil, false, fmt.Errorf("%w: %s: want true or false", ErrBadInput, col)
		}
		p.SetBool(b)
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil || p.OverflowInt(n) {
			return nil, false, fmt.Errorf("%w: %s: want an integer", ErrBadInput, col)
		}
		p.SetInt(n)
	case t.Kind() == reflect.Map || t.Kind() == reflect.Slice:
		if err := json.Unmarshal([]byte(text), p.Addr().Interface()); err != nil {
			return nil, false, fmt.Errorf("%w: %s: want JSON of its shape: %v", ErrBadInput, col, err)
		}
	default:
		return nil, false, fmt.Errorf("%w: %s cannot be edited here (type %s)", ErrBadInput, col, t)
	}
	return p.Interface(), false, nil
}

// eq is a list's equality filter (or a lookup by id).
func eq(col, v string) func(*sql.Selector) {
	return func(s *sql.Selector) { s.Where(sql.EQ(s.C(col), v)) }
}
