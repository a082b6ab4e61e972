package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/leadmetrics/db/privacy"
)

// Integration connects a tenant to an outside platform (ads, CMS, CRM).
type Integration struct{ ent.Schema }

// Mixin of Integration.
func (Integration) Mixin() []ent.Mixin {
	return []ent.Mixin{BaseMixin{}, privacy.Owned(), privacy.SoftDelete()}
}

// Fields of Integration.
func (Integration) Fields() []ent.Field {
	return []ent.Field{
		field.String("provider").NotEmpty().MaxLen(keyLen).SchemaType(varchar(keyLen)).
			Comment("google_ads, meta_ads, linkedin, wordpress, hubspot, ga4, ..."),
		field.String("name").NotEmpty().MaxLen(nameLen).SchemaType(varchar(nameLen)),
		field.Enum("status").Values("connected", "disconnected", "error").Default("disconnected"),
		field.Strings("scopes").Optional(),
		field.JSON("settings", map[string]any{}).Optional(),
		field.Time("connected_at").Optional().Nillable(),
		field.Time("last_synced_at").Optional().Nillable(),
		field.String("credential_id").Optional().Nillable().SchemaType(varchar(idLen)),
	}
}

// Edges of Integration.
func (Integration) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("credential", Credential.Type).Ref("integrations").Field("credential_id").Unique(),
	}
}

// Indexes of Integration.
func (Integration) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "provider")}
}
