package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/leadmetrics/db/privacy"
)

// Plan is an entry of the platform's shared subscription catalog.
type Plan struct{ ent.Schema }

// Mixin of Plan.
func (Plan) Mixin() []ent.Mixin {
	return []ent.Mixin{BaseMixin{}, privacy.Shared(), privacy.SoftDelete(), MoneyMixin{Prefix: "price"}}
}

// Fields of Plan.
func (Plan) Fields() []ent.Field {
	return []ent.Field{
		field.String("code").NotEmpty().MaxLen(keyLen).SchemaType(varchar(keyLen)).Match(slugPattern),
		field.String("name").NotEmpty().MaxLen(nameLen).SchemaType(varchar(nameLen)),
		field.Enum("interval").Values("month", "year").Default("month"),
		field.Int64("included_credits").Default(0).NonNegative(),
		field.JSON("limits", map[string]any{}).Optional(),
		field.Bool("active").Default(true),
	}
}

// Edges of Plan.
func (Plan) Edges() []ent.Edge {
	return []ent.Edge{edge.To("tenants", Tenant.Type)}
}

// Indexes of Plan.
func (Plan) Indexes() []ent.Index {
	return []ent.Index{index.Fields("code").Unique()}
}

// Annotations of Plan.
func (Plan) Annotations() []schema.Annotation {
	return []schema.Annotation{nonNegative("included_credits")}
}
