package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/leadmetrics/db/privacy"
)

// AgentConfig configures one AI agent of a tenant.
type AgentConfig struct{ ent.Schema }

// Mixin of AgentConfig.
func (AgentConfig) Mixin() []ent.Mixin {
	return []ent.Mixin{BaseMixin{}, privacy.Owned(), privacy.SoftDelete()}
}

// Fields of AgentConfig.
func (AgentConfig) Fields() []ent.Field {
	return []ent.Field{
		field.String("agent_type").NotEmpty().MaxLen(keyLen).SchemaType(varchar(keyLen)),
		field.String("name").NotEmpty().MaxLen(nameLen).SchemaType(varchar(nameLen)),
		field.String("model").NotEmpty().MaxLen(keyLen).SchemaType(varchar(keyLen)),
		field.Text("system_prompt").Optional(),
		field.JSON("parameters", map[string]any{}).Optional(),
		field.Bool("enabled").Default(true),
		field.Int("version").Default(1).Positive(),
	}
}

// Edges of AgentConfig.
func (AgentConfig) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("activities", Activity.Type),
		edge.To("llm_calls", LlmCallLog.Type),
		edge.To("hitl_requests", HitlApproval.Type),
	}
}

// Indexes of AgentConfig.
func (AgentConfig) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "agent_type")}
}

// Annotations of AgentConfig.
func (AgentConfig) Annotations() []schema.Annotation {
	return []schema.Annotation{positive("version")}
}
