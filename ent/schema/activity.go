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

// Activity is a unit of work done by an AI agent or a person.
type Activity struct{ ent.Schema }

// Mixin of Activity.
func (Activity) Mixin() []ent.Mixin {
	return []ent.Mixin{BaseMixin{}, privacy.Owned(), privacy.SoftDelete()}
}

// Fields of Activity.
func (Activity) Fields() []ent.Field {
	return []ent.Field{
		field.String("type").NotEmpty().MaxLen(keyLen).SchemaType(varchar(keyLen)),
		field.String("title").NotEmpty().MaxLen(nameLen).SchemaType(varchar(nameLen)),
		field.Enum("status").
			Values("pending", "queued", "running", "awaiting_approval", "completed", "failed", "cancelled").
			Default("pending"),
		field.Int("priority").Default(0),
		field.Time("scheduled_at").Optional().Nillable(),
		field.Time("started_at").Optional().Nillable(),
		field.Time("completed_at").Optional().Nillable(),
		field.JSON("input", map[string]any{}).Optional(),
		field.JSON("output", map[string]any{}).Optional(),
		field.Text("error").Optional().Nillable(),
		field.Int("attempts").Default(0).NonNegative(),
		field.String("campaign_id").Optional().Nillable().SchemaType(varchar(idLen)),
		field.String("agent_config_id").Optional().Nillable().SchemaType(varchar(idLen)),
		field.String("assignee_id").Optional().Nillable().SchemaType(varchar(idLen)),
	}
}

// Edges of Activity.
func (Activity) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("campaign", Campaign.Type).Ref("activities").Field("campaign_id").Unique(),
		edge.From("agent_config", AgentConfig.Type).Ref("activities").Field("agent_config_id").Unique(),
		edge.From("assignee", User.Type).Ref("assigned_activities").Field("assignee_id").Unique(),
		edge.To("deliverables", Deliverable.Type),
		edge.To("hitl_approvals", HitlApproval.Type),
		edge.To("llm_calls", LlmCallLog.Type),
		edge.To("dispatches", DispatchLog.Type),
		edge.To("ledger_entries", CreditLedgerEntry.Type),
	}
}

// Indexes of Activity. The work queue (pending or queued, by schedule) has
// its own partial index, read in order whatever the tenant's size; counts
// of live activities are index-only scans of activity_live.
func (Activity) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "status", "scheduled_at"),
		index.Fields("tenant_id", "campaign_id"),
		index.Fields("tenant_id", "scheduled_at").StorageKey("activity_work_queue").
			Annotations(entsql.IndexWhere("(status = 'pending' OR status = 'queued') AND deleted_at IS NULL")),
		index.Fields("tenant_id", "id").StorageKey("activity_live").
			Annotations(entsql.IndexWhere("deleted_at IS NULL")),
	}
}

// Annotations of Activity.
func (Activity) Annotations() []schema.Annotation {
	return []schema.Annotation{nonNegative("attempts")}
}
