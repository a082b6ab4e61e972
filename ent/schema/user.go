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

// User is a person who signs in to a tenant's workspace.
type User struct{ ent.Schema }

// Mixin of User.
func (User) Mixin() []ent.Mixin {
	return []ent.Mixin{BaseMixin{}, privacy.Owned(), privacy.SoftDelete()}
}

// Fields of User.
func (User) Fields() []ent.Field {
	return []ent.Field{
		field.String("email").NotEmpty().MaxLen(emailLen).SchemaType(varchar(emailLen)).
			Comment("Stored lower-case; unique per tenant among live rows."),
		field.String("name").Optional().MaxLen(nameLen).SchemaType(varchar(nameLen)),
		field.Enum("role").Values("owner", "admin", "member", "viewer").Default("member"),
		field.Enum("status").Values("invited", "active", "disabled").Default("invited"),
		field.Time("last_login_at").Optional().Nillable(),
	}
}

// Edges of User.
func (User) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("owned_campaigns", Campaign.Type),
		edge.To("assigned_activities", Activity.Type),
		edge.To("hitl_decisions", HitlApproval.Type),
	}
}

// Indexes of User.
func (User) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "email").Unique().Annotations(entsql.IndexWhere("deleted_at IS NULL")),
	}
}

// Annotations of User.
func (User) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entsql.Checks(map[string]string{"user_email_lower": "email = lower(email)"}),
	}
}

// Hooks of User.
func (User) Hooks() []ent.Hook { return []ent.Hook{lowerEmailHook} }
