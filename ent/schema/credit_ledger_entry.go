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

// CreditLedgerEntry is one append-only movement of a tenant's credits.
type CreditLedgerEntry struct{ ent.Schema }

// Mixin of CreditLedgerEntry.
func (CreditLedgerEntry) Mixin() []ent.Mixin {
	return []ent.Mixin{BaseMixin{}, privacy.AppendOnly(true)}
}

// Fields of CreditLedgerEntry. Entries are never updated, so every field is
// immutable.
func (CreditLedgerEntry) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("kind").Values("topup", "grant", "usage", "refund", "adjustment", "expiry", "reversal").Immutable(),
		field.Int64("amount").Immutable().Comment("Signed, non-zero, credit minor units."),
		field.Int64("balance_after").Immutable(),
		field.Int64("seq").Immutable().Positive().
			Comment("Position in the tenant's ledger, 1, 2, 3...: orders entries where timestamps cannot."),
		field.String("idempotency_key").NotEmpty().Immutable().MaxLen(refLen).SchemaType(varchar(refLen)),
		field.String("description").Optional().Immutable().MaxLen(500).SchemaType(varchar(500)),
		field.String("actor").Optional().Immutable().MaxLen(keyLen).SchemaType(varchar(keyLen)),
		field.JSON("metadata", map[string]any{}).Optional().Immutable(),
		field.String("topup_order_id").Optional().Nillable().Immutable().SchemaType(varchar(idLen)),
		field.String("llm_call_id").Optional().Nillable().Immutable().SchemaType(varchar(idLen)),
		field.String("activity_id").Optional().Nillable().Immutable().SchemaType(varchar(idLen)),
	}
}

// Edges of CreditLedgerEntry.
func (CreditLedgerEntry) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("topup_order", TopupOrder.Type).Ref("ledger_entries").Field("topup_order_id").Unique().Immutable(),
		edge.From("llm_call", LlmCallLog.Type).Ref("ledger_entry").Field("llm_call_id").Unique().Immutable(),
		edge.From("activity", Activity.Type).Ref("ledger_entries").Field("activity_id").Unique().Immutable(),
	}
}

// Indexes of CreditLedgerEntry. The idempotency key is unique per tenant
// through (tenant_id, ref_id): a posting stores its key in both columns
// and conflicts on ref_id, so a second unique index would only cost writes.
func (CreditLedgerEntry) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "seq").Unique(),
		index.Fields("tenant_id", "created_at"),
	}
}

// Annotations of CreditLedgerEntry. Only usage already incurred may take
// the balance below zero.
func (CreditLedgerEntry) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entsql.Checks(map[string]string{
			"amount_non_zero":           "amount <> 0",
			"seq_positive":              "seq > 0",
			"balance_after_no_overdraw": "amount > 0 OR kind = 'usage' OR balance_after >= 0",
		}),
	}
}
