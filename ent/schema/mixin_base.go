// Package schema declares the Ent schema of every Leadmetrics entity.
package schema

import (
	"strconv"
	"time"

	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"entgo.io/ent/schema/mixin"

	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/input"
)

// Column sizes shared by several entities.
const (
	idLen   = cuid.Length // ids and tenant ids are cuids
	refLen  = 128         // caller-chosen natural keys
	nameLen = 200
	keyLen  = 100 // provider names, enum-like codes, model names
	urlLen  = 2048
)

// BaseMixin gives every entity the six base fields and the per-tenant
// natural key. It is the only place these fields are declared.
type BaseMixin struct{ mixin.Schema }

// Fields of the base mixin.
func (BaseMixin) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").
			DefaultFunc(cuid.New).Immutable().NotEmpty().
			MaxLen(idLen).SchemaType(varchar(idLen)),
		field.String("ref_id").
			Comment("Caller's stable natural or idempotency key; unique per tenant.").
			DefaultFunc(cuid.New).Immutable().NotEmpty().
			MaxLen(refLen).SchemaType(varchar(refLen)),
		field.String("tenant_id").
			Comment("Owning tenant; set from the request context, never changed.").
			Immutable().NotEmpty().
			MaxLen(idLen).SchemaType(varchar(idLen)),
		field.Time("created_at").Default(time.Now).Immutable(),
		field.Time("updated_at").Default(time.Now).UpdateDefault(time.Now),
		field.Time("deleted_at").Optional().Nillable().
			Comment("Soft-delete marker: set means deleted."),
	}
}

// Hooks of the base mixin: input hygiene on every entity (NUL bytes,
// invalid UTF-8, taken ids), before the tenancy hooks run any SQL.
func (BaseMixin) Hooks() []ent.Hook { return []ent.Hook{input.Hook()} }

// Indexes of the base mixin. The (tenant_id, ref_id) key is total, not
// partial, so upserts can target it and a soft-deleted row keeps its key.
func (BaseMixin) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "ref_id").Unique(),
	}
}

// varchar returns the PostgreSQL column type for a bounded string; MaxLen
// alone only validates in Go.
func varchar(n int) map[string]string {
	return map[string]string{dialect.Postgres: "varchar(" + strconv.Itoa(n) + ")"}
}

// currencyType is an ISO 4217 code.
var currencyType = map[string]string{dialect.Postgres: "char(3)"}
