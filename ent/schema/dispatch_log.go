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

// DispatchLog records one notification sent to a recipient.
type DispatchLog struct{ ent.Schema }

// Mixin of DispatchLog.
func (DispatchLog) Mixin() []ent.Mixin {
	return []ent.Mixin{BaseMixin{}, privacy.Owned(), privacy.SoftDelete()}
}

// Fields of DispatchLog.
func (DispatchLog) Fields() []ent.Field {
	return []ent.Field{
		field.String("provider").NotEmpty().MaxLen(keyLen).SchemaType(varchar(keyLen)),
		field.Enum("channel").Values("email", "sms", "whatsapp", "slack", "webhook", "push"),
		field.String("recipient").NotEmpty().MaxLen(emailLen).SchemaType(varchar(emailLen)),
		field.String("template").Optional().MaxLen(keyLen).SchemaType(varchar(keyLen)),
		field.Enum("status").Values("queued", "sent", "delivered", "failed", "bounced").Default("queued"),
		field.String("provider_message_id").Optional().MaxLen(refLen).SchemaType(varchar(refLen)),
		field.Int("attempts").Default(0).NonNegative(),
		field.Text("error").Optional().Nillable(),
		field.Time("sent_at").Optional().Nillable(),
		field.Time("delivered_at").Optional().Nillable(),
		field.String("activity_id").Optional().Nillable().SchemaType(varchar(idLen)),
	}
}

// Edges of DispatchLog.
func (DispatchLog) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("activity", Activity.Type).Ref("dispatches").Field("activity_id").Unique(),
	}
}

// Indexes of DispatchLog.
func (DispatchLog) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "created_at"),
		index.Fields("tenant_id", "status"),
		// The failed list (page.FailedDispatches), newest first.
		index.Fields("tenant_id", "created_at").StorageKey("dispatchlog_failed").
			Annotations(entsql.IndexWhere("status = 'failed' AND deleted_at IS NULL")),
	}
}

// Annotations of DispatchLog.
func (DispatchLog) Annotations() []schema.Annotation {
	return []schema.Annotation{nonNegative("attempts")}
}
