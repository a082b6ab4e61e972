package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/leadmetrics/db/privacy"
)

// Tenant is a client business of the platform. Its tenant_id is its own id.
type Tenant struct{ ent.Schema }

// Mixin of Tenant.
func (Tenant) Mixin() []ent.Mixin {
	return []ent.Mixin{BaseMixin{}, privacy.TenantEntity("status", "plan_id"), privacy.SoftDelete()}
}

// Fields of Tenant.
func (Tenant) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(nameLen).SchemaType(varchar(nameLen)),
		field.String("slug").NotEmpty().MaxLen(keyLen).SchemaType(varchar(keyLen)).
			Match(slugPattern),
		field.Enum("status").Values("active", "suspended", "closed").Default("active"),
		field.String("plan_id").Optional().Nillable().SchemaType(varchar(idLen)),
		field.String("billing_email").Optional().MaxLen(emailLen).SchemaType(varchar(emailLen)),
		field.JSON("settings", map[string]any{}).Optional(),
	}
}

// Edges of Tenant.
func (Tenant) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("plan", Plan.Type).Ref("tenants").Field("plan_id").Unique(),
	}
}

// Indexes of Tenant.
func (Tenant) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("slug").Unique().Annotations(entsql.IndexWhere("deleted_at IS NULL")),
	}
}
