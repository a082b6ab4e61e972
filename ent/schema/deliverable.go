package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/leadmetrics/db/privacy"
)

// Deliverable is what an activity produced: a post, an email, a report.
type Deliverable struct{ ent.Schema }

// Mixin of Deliverable.
func (Deliverable) Mixin() []ent.Mixin {
	return []ent.Mixin{BaseMixin{}, privacy.Owned(), privacy.SoftDelete()}
}

// Fields of Deliverable.
func (Deliverable) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("kind").
			Values("blog_post", "social_post", "email", "ad_copy", "landing_page", "report", "image", "video", "other"),
		field.String("title").NotEmpty().MaxLen(nameLen).SchemaType(varchar(nameLen)),
		field.Text("body").Optional(),
		field.String("url").Optional().MaxLen(urlLen).SchemaType(varchar(urlLen)),
		field.Enum("status").Values("draft", "pending_review", "approved", "rejected", "published").Default("draft"),
		field.Int("version").Default(1).Positive(),
		field.Time("published_at").Optional().Nillable(),
		field.String("activity_id").NotEmpty().SchemaType(varchar(idLen)),
		field.String("campaign_id").Optional().Nillable().SchemaType(varchar(idLen)),
	}
}

// Edges of Deliverable.
func (Deliverable) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("activity", Activity.Type).Ref("deliverables").Field("activity_id").Unique().Required(),
		edge.From("campaign", Campaign.Type).Ref("deliverables").Field("campaign_id").Unique(),
		edge.To("hitl_approvals", HitlApproval.Type),
	}
}

// Indexes of Deliverable.
func (Deliverable) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "activity_id"),
		index.Fields("tenant_id", "status"),
	}
}

// Annotations of Deliverable.
func (Deliverable) Annotations() []schema.Annotation {
	return []schema.Annotation{positive("version")}
}
