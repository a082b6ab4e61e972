package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/leadmetrics/db/privacy"
)

// BillingEvent is a payment provider's webhook event, stored raw.
type BillingEvent struct{ ent.Schema }

// Mixin of BillingEvent. paid_amount and paid_currency are what the
// provider says was paid or refunded, compared with the order's before any
// credit moves; typed columns (not the raw payload) so that operators and
// reconciliation can query them without parsing each provider's format.
func (BillingEvent) Mixin() []ent.Mixin {
	return []ent.Mixin{BaseMixin{}, privacy.SystemWritten(), privacy.SoftDelete(), MoneyMixin{Prefix: "paid", Optional: true}}
}

// Fields of BillingEvent.
func (BillingEvent) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("provider").Values("stripe", "razorpay", "manual"),
		field.String("provider_event_id").NotEmpty().MaxLen(refLen).SchemaType(varchar(refLen)),
		field.String("type").NotEmpty().MaxLen(keyLen).SchemaType(varchar(keyLen)),
		field.JSON("payload", map[string]any{}).Optional(),
		field.Enum("status").Values("received", "processed", "ignored", "failed").Default("received"),
		field.Time("processed_at").Optional().Nillable(),
		field.Text("error").Optional().Nillable(),
		field.String("topup_order_id").Optional().Nillable().SchemaType(varchar(idLen)),
	}
}

// Edges of BillingEvent.
func (BillingEvent) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("topup_order", TopupOrder.Type).Ref("billing_events").Field("topup_order_id").Unique(),
	}
}

// Indexes of BillingEvent: duplicates of a delivery share the provider id.
func (BillingEvent) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("provider", "provider_event_id").Unique(),
		index.Fields("tenant_id", "created_at"),
	}
}
