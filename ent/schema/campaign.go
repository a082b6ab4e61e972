package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/leadmetrics/db/privacy"
)

// Campaign groups marketing work towards one objective.
type Campaign struct{ ent.Schema }

// Mixin of Campaign.
func (Campaign) Mixin() []ent.Mixin {
	return []ent.Mixin{BaseMixin{}, privacy.Owned(), privacy.SoftDelete(), MoneyMixin{Prefix: "budget", Optional: true}}
}

// Fields of Campaign.
func (Campaign) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(nameLen).SchemaType(varchar(nameLen)),
		field.Text("objective").Optional(),
		field.Enum("status").Values("draft", "active", "paused", "completed", "archived").Default("draft"),
		field.Strings("channels").Optional(),
		field.Time("starts_at").Optional().Nillable(),
		field.Time("ends_at").Optional().Nillable(),
		field.String("owner_id").Optional().Nillable().SchemaType(varchar(idLen)),
	}
}

// Edges of Campaign.
func (Campaign) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("owner", User.Type).Ref("owned_campaigns").Field("owner_id").Unique(),
		edge.To("activities", Activity.Type),
		edge.To("deliverables", Deliverable.Type),
	}
}

// Indexes of Campaign.
func (Campaign) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "status"),
	}
}

// Annotations of Campaign.
func (Campaign) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entsql.Checks(map[string]string{"campaign_schedule_order": "ends_at IS NULL OR starts_at IS NULL OR ends_at >= starts_at"}),
	}
}
