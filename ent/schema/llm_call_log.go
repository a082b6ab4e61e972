package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/leadmetrics/db/privacy"
)

// LlmCallLog records one call to a language model and its cost.
type LlmCallLog struct{ ent.Schema }

// Mixin of LlmCallLog.
func (LlmCallLog) Mixin() []ent.Mixin {
	return []ent.Mixin{BaseMixin{}, privacy.Owned(), privacy.SoftDelete()}
}

// Fields of LlmCallLog.
func (LlmCallLog) Fields() []ent.Field {
	return []ent.Field{
		field.String("provider").NotEmpty().MaxLen(keyLen).SchemaType(varchar(keyLen)),
		field.String("model").NotEmpty().MaxLen(keyLen).SchemaType(varchar(keyLen)),
		field.Int("prompt_tokens").Default(0).NonNegative(),
		field.Int("completion_tokens").Default(0).NonNegative(),
		field.Int64("cost").Default(0).NonNegative().Comment("Credit minor units."),
		field.Int("latency_ms").Default(0).NonNegative(),
		field.Enum("status").Values("ok", "error", "timeout").Default("ok"),
		field.Text("error").Optional().Nillable(),
		field.String("request_id").Optional().MaxLen(refLen).SchemaType(varchar(refLen)),
		field.String("activity_id").Optional().Nillable().SchemaType(varchar(idLen)),
		field.String("agent_config_id").Optional().Nillable().SchemaType(varchar(idLen)),
	}
}

// Edges of LlmCallLog. The usage debit points here (ledger_entry).
func (LlmCallLog) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("activity", Activity.Type).Ref("llm_calls").Field("activity_id").Unique(),
		edge.From("agent_config", AgentConfig.Type).Ref("llm_calls").Field("agent_config_id").Unique(),
		edge.To("ledger_entry", CreditLedgerEntry.Type).Unique(),
	}
}

// Indexes of LlmCallLog.
func (LlmCallLog) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "created_at"),
		index.Fields("tenant_id", "activity_id"),
	}
}

// Annotations of LlmCallLog.
func (LlmCallLog) Annotations() []schema.Annotation {
	return []schema.Annotation{nonNegative("prompt_tokens", "completion_tokens", "cost", "latency_ms")}
}
