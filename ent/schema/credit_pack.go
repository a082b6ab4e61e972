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

// CreditPack is an entry of the platform's catalog of credit packs: what a
// topup order costs and what it credits. Tenants read the catalog and
// order a pack by id; only the system writes it. Its terms never change (a
// new price is a new pack; the old one is deactivated), so an order's pack
// names exactly the terms the order copied.
type CreditPack struct{ ent.Schema }

// Mixin of CreditPack.
func (CreditPack) Mixin() []ent.Mixin {
	return []ent.Mixin{BaseMixin{}, privacy.Shared(), privacy.SoftDelete(),
		MoneyMixin{Prefix: "price", Positive: true, Immutable: true}}
}

// Fields of CreditPack.
func (CreditPack) Fields() []ent.Field {
	return []ent.Field{
		field.String("code").NotEmpty().MaxLen(keyLen).SchemaType(varchar(keyLen)).Match(slugPattern),
		field.String("name").NotEmpty().MaxLen(nameLen).SchemaType(varchar(nameLen)),
		field.Int64("credits").Positive().Immutable().Comment("Credit minor units an order of this pack grants when paid."),
		field.Bool("active").Default(true).Comment("Only active packs can be ordered; inactive ones stay for the orders that name them."),
	}
}

// Edges of CreditPack. A pack that orders name cannot be purged (NO
// ACTION): an order's provenance is history.
func (CreditPack) Edges() []ent.Edge {
	return []ent.Edge{edge.To("topup_orders", TopupOrder.Type).Annotations(entsql.OnDelete(entsql.NoAction))}
}

// Indexes of CreditPack.
func (CreditPack) Indexes() []ent.Index {
	return []ent.Index{index.Fields("code").Unique()}
}

// Annotations of CreditPack.
func (CreditPack) Annotations() []schema.Annotation {
	return []schema.Annotation{positive("credits")}
}
