package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/leadmetrics/db/privacy"
)

// Credential holds a secret for an outside service, encrypted at rest.
type Credential struct{ ent.Schema }

// Mixin of Credential.
func (Credential) Mixin() []ent.Mixin {
	return []ent.Mixin{BaseMixin{}, privacy.Owned(), privacy.SoftDelete()}
}

// Fields of Credential. The secret column holds ciphertext only.
func (Credential) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("kind").Values("api_key", "oauth2", "basic", "webhook_secret"),
		field.String("provider").NotEmpty().MaxLen(keyLen).SchemaType(varchar(keyLen)),
		field.String("label").Optional().MaxLen(nameLen).SchemaType(varchar(nameLen)),
		field.Bytes("secret_ciphertext").Sensitive().NotEmpty().
			Comment("AES-256-GCM nonce||ciphertext of the secret."),
		field.String("key_id").NotEmpty().MaxLen(keyLen).SchemaType(varchar(keyLen)).
			Comment("Which encryption key sealed the secret, for rotation."),
		field.Time("expires_at").Optional().Nillable(),
		field.Time("rotated_at").Optional().Nillable(),
	}
}

// Edges of Credential.
func (Credential) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("notification_providers", NotificationProvider.Type),
		edge.To("integrations", Integration.Type),
	}
}

// Indexes of Credential.
func (Credential) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "provider")}
}
