package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/leadmetrics/db/privacy"
)

// NotificationProvider is a channel through which a tenant sends messages.
type NotificationProvider struct{ ent.Schema }

// Mixin of NotificationProvider.
func (NotificationProvider) Mixin() []ent.Mixin {
	return []ent.Mixin{BaseMixin{}, privacy.Owned(), privacy.SoftDelete()}
}

// Fields of NotificationProvider.
func (NotificationProvider) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("channel").Values("email", "sms", "whatsapp", "slack", "webhook", "push"),
		field.String("provider").NotEmpty().MaxLen(keyLen).SchemaType(varchar(keyLen)),
		field.String("display_name").Optional().MaxLen(nameLen).SchemaType(varchar(nameLen)),
		field.JSON("config", map[string]any{}).Optional().Comment("Non-secret settings only."),
		field.Bool("enabled").Default(true),
		field.Bool("is_default").Default(false),
		field.String("credential_id").Optional().Nillable().SchemaType(varchar(idLen)),
	}
}

// Edges of NotificationProvider.
func (NotificationProvider) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("credential", Credential.Type).Ref("notification_providers").Field("credential_id").Unique(),
	}
}

// Indexes of NotificationProvider: at most one live default per channel.
func (NotificationProvider) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "channel").Unique().
			Annotations(entsql.IndexWhere("is_default AND deleted_at IS NULL")).
			StorageKey("notificationprovider_one_default_per_channel"),
	}
}
