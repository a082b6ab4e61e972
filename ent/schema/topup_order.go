package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/leadmetrics/db/hooks"
	"github.com/leadmetrics/db/privacy"
)

// TopupOrder is a tenant's purchase of credits through a payment provider.
type TopupOrder struct{ ent.Schema }

// Mixin of TopupOrder.
func (TopupOrder) Mixin() []ent.Mixin {
	return []ent.Mixin{BaseMixin{}, privacy.SystemWritten(), hooks.SoftDeleteMixin{}, MoneyMixin{Prefix: "paid"}}
}

// Fields of TopupOrder.
func (TopupOrder) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("provider").Values("stripe", "razorpay", "manual"),
		field.String("provider_order_id").NotEmpty().MaxLen(refLen).SchemaType(varchar(refLen)),
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
