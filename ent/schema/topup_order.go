package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/leadmetrics/db/privacy"
)

// TopupOrder is a tenant's purchase of credits through a payment provider.
// Its terms (price, credits) are copied from a credit pack, or set by the
// system for an operator's order; the provider's order id is bound by the
// system (package billing).
type TopupOrder struct{ ent.Schema }

// Mixin of TopupOrder.
func (TopupOrder) Mixin() []ent.Mixin {
	return []ent.Mixin{BaseMixin{}, privacy.SystemWritten(), privacy.SoftDelete(), MoneyMixin{Prefix: "paid", Positive: true}}
}

// Fields of TopupOrder.
func (TopupOrder) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("provider").Values("stripe", "razorpay", "manual"),
		field.String("provider_order_id").Optional().Nillable().NotEmpty().MaxLen(refLen).SchemaType(varchar(refLen)).
			Comment("The provider's id (payment intent, order id), set by the system once it created the payment; unique per provider."),
		field.String("credit_pack_id").Optional().Nillable().Immutable().SchemaType(varchar(idLen)).
			Comment("The pack whose terms the order copied; empty for an operator's order with its own terms."),
		field.Int64("credits").Positive().Comment("Credit minor units granted when paid."),
		field.Enum("status").Values("created", "pending", "paid", "failed", "refunded", "cancelled").Default("created"),
		field.Time("paid_at").Optional().Nillable(),
	}
}

// Edges of TopupOrder. The ledger entries are the credit it produced and,
// after a refund, its reversal.
func (TopupOrder) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("ledger_entries", CreditLedgerEntry.Type),
		edge.To("billing_events", BillingEvent.Type),
		edge.From("credit_pack", CreditPack.Type).Ref("topup_orders").Field("credit_pack_id").Unique().Immutable(),
	}
}

// Indexes of TopupOrder.
func (TopupOrder) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("provider", "provider_order_id").Unique(),
		index.Fields("tenant_id", "status"),
	}
}

// Annotations of TopupOrder.
func (TopupOrder) Annotations() []schema.Annotation {
	return []schema.Annotation{positive("credits")}
}
