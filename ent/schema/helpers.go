package schema

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/mixin"

	"github.com/leadmetrics/db/input"
)

const emailLen = 320

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)

// MoneyMixin adds an amount in integer minor units and its ISO 4217 currency,
// named <Prefix>_amount and <Prefix>_currency, guarded non-negative (or
// positive).
type MoneyMixin struct {
	mixin.Schema
	Prefix   string
	Optional bool
	// Positive requires an amount above zero: a price, where zero would
	// give something for nothing.
	Positive bool
	// Immutable fixes both fields once the row exists: a catalog price,
	// where a new price is a new row.
	Immutable bool
}

// Fields of MoneyMixin.
func (m MoneyMixin) Fields() []ent.Field {
	amount := field.Int64(m.Prefix + "_amount").Comment("Minor units of the currency (cents, paise).")
	if m.Positive {
		amount.Positive()
	} else {
		amount.NonNegative()
	}
	currency := field.String(m.Prefix + "_currency").MinLen(3).MaxLen(3).SchemaType(currencyType).
		Annotations(input.Annotation{Currency: true}).
		Comment("ISO 4217 code: three upper-case ASCII letters.")
	if m.Immutable {
		amount.Immutable()
		currency.Immutable()
	}
	if m.Optional {
		return []ent.Field{amount.Optional().Nillable(), currency.Optional().Nillable()}
	}
	return []ent.Field{amount, currency}
}

// Annotations of MoneyMixin.
func (m MoneyMixin) Annotations() []schema.Annotation {
	sign := nonNegative(m.Prefix + "_amount")
	if m.Positive {
		sign = positive(m.Prefix + "_amount")
	}
	return []schema.Annotation{sign, columnChecks("iso4217", "~ '^[A-Z]{3}$'", []string{m.Prefix + "_currency"})}
}

// nonNegative guards integer columns at the database with named checks.
func nonNegative(columns ...string) *entsql.Annotation {
	return columnChecks("non_negative", ">= 0", columns)
}

// positive guards integer columns at the database with named checks.
func positive(columns ...string) *entsql.Annotation { return columnChecks("positive", "> 0", columns) }

// columnChecks names each check <column>_<suffix>, so migrations and
// errors say which column broke which rule.
func columnChecks(suffix, cond string, columns []string) *entsql.Annotation {
	checks := make(map[string]string, len(columns))
	for _, c := range columns {
		checks[c+"_"+suffix] = c + " " + cond
	}
	return entsql.Checks(checks)
}

// lowerEmailHook stores emails lower-case so the per-tenant unique index is
// case-insensitive; a check constraint backs it at the database.
var lowerEmailHook = func(next ent.Mutator) ent.Mutator {
	type emailMutation interface {
		Email() (string, bool)
		SetEmail(string)
	}
	return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
		em, ok := m.(emailMutation)
		if !ok {
			return nil, fmt.Errorf("schema: unexpected mutation %T for email hook", m)
		}
		if e, ok := em.Email(); ok {
			em.SetEmail(strings.ToLower(strings.TrimSpace(e)))
		}
		return next.Mutate(ctx, m)
	})
}
