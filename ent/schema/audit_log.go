package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/leadmetrics/db/privacy"
)

// AuditLog records who changed what. Append-only: every field is immutable.
type AuditLog struct{ ent.Schema }

// Mixin of AuditLog.
func (AuditLog) Mixin() []ent.Mixin { return []ent.Mixin{BaseMixin{}, privacy.AppendOnly(false)} }

// Fields of AuditLog.
func (AuditLog) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("actor_type").Values("user", "agent", "system").Immutable(),
		field.String("actor_id").Optional().Immutable().MaxLen(keyLen).SchemaType(varchar(keyLen)),
		field.String("action").NotEmpty().Immutable().MaxLen(keyLen).SchemaType(varchar(keyLen)),
		field.String("entity_type").NotEmpty().Immutable().MaxLen(keyLen).SchemaType(varchar(keyLen)),
		field.String("entity_id").Optional().Immutable().MaxLen(refLen).SchemaType(varchar(refLen)),
		field.JSON("changes", map[string]any{}).Optional().Immutable(),
		field.String("request_id").Optional().Immutable().MaxLen(refLen).SchemaType(varchar(refLen)),
		field.String("ip").Optional().Immutable().MaxLen(45).SchemaType(varchar(45)),
		field.String("user_agent").Optional().Immutable().MaxLen(500).SchemaType(varchar(500)),
	}
}

// Indexes of AuditLog.
func (AuditLog) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "created_at"),
		index.Fields("tenant_id", "entity_type", "entity_id"),
	}
}
