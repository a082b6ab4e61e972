package schema

import (
	"time"

	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/leadmetrics/db/privacy"
)

// HitlApproval is a human-in-the-loop decision on an agent's work.
type HitlApproval struct{ ent.Schema }

// Mixin of HitlApproval.
func (HitlApproval) Mixin() []ent.Mixin {
	return []ent.Mixin{BaseMixin{}, privacy.Owned(), privacy.SoftDelete()}
}

// Fields of HitlApproval.
func (HitlApproval) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("status").Values("pending", "approved", "rejected", "expired", "cancelled").Default("pending"),
		field.Text("comment").Optional(),
		field.Time("requested_at").Default(time.Now).Immutable(),
		field.Time("decided_at").Optional().Nillable(),
		field.Time("expires_at").Optional().Nillable(),
		field.String("activity_id").Optional().Nillable().SchemaType(varchar(idLen)),
		field.String("deliverable_id").Optional().Nillable().SchemaType(varchar(idLen)),
		field.String("requested_by_agent_id").Optional().Nillable().SchemaType(varchar(idLen)),
		field.String("decided_by_id").Optional().Nillable().SchemaType(varchar(idLen)),
	}
}

// Edges of HitlApproval.
func (HitlApproval) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("activity", Activity.Type).Ref("hitl_approvals").Field("activity_id").Unique(),
		edge.From("deliverable", Deliverable.Type).Ref("hitl_approvals").Field("deliverable_id").Unique(),
		edge.From("requested_by_agent", AgentConfig.Type).Ref("hitl_requests").Field("requested_by_agent_id").Unique(),
		edge.From("decided_by", User.Type).Ref("hitl_decisions").Field("decided_by_id").Unique(),
	}
}

// Indexes of HitlApproval: reviewers list pending requests by expiry.
func (HitlApproval) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "status", "expires_at"),
		index.Fields("tenant_id", "activity_id"),
		// The pending list (page.PendingApprovals), oldest request first.
		index.Fields("tenant_id", "requested_at").StorageKey("hitlapproval_pending").
			Annotations(entsql.IndexWhere("status = 'pending' AND deleted_at IS NULL")),
	}
}
