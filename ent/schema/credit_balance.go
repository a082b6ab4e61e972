package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/leadmetrics/db/privacy"
)

// CreditBalance caches a tenant's ledger sum; exactly one row per tenant.
// It is updated in the same statement as every ledger entry and is the
// per-tenant lock that serializes postings.
type CreditBalance struct{ ent.Schema }

// Mixin of CreditBalance.
func (CreditBalance) Mixin() []ent.Mixin {
	return []ent.Mixin{BaseMixin{}, privacy.SystemWritten(), privacy.SoftDelete()}
}

// Fields of CreditBalance. The balance may go negative only through usage
// already incurred; the ledger decides, so no check here.
func (CreditBalance) Fields() []ent.Field {
	return []ent.Field{
		field.Int64("balance").Default(0).Comment("Credit minor units."),
		field.Int64("last_seq").Default(0).NonNegative().
			Comment("seq of the tenant's newest ledger entry: entries are numbered 1..last_seq without gaps."),
	}
}

// Indexes of CreditBalance.
func (CreditBalance) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id").Unique()}
}
