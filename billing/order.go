package billing

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/creditpack"
	"github.com/leadmetrics/db/ent/tenant"
	"github.com/leadmetrics/db/ent/topuporder"
	"github.com/leadmetrics/db/input"
	"github.com/leadmetrics/db/privacy"
)

// OrderRequest asks for a topup order. A tenant viewer orders a credit
// pack of the catalog by id: what the order costs and what it credits are
// the pack's, copied into the order. The system viewer (operators,
// backfills) names the tenant and either a pack or terms of its own, and
// may give the provider's order id at once.
type OrderRequest struct {
	// RefID is the caller's idempotency key, unique per tenant: the same
	// request again returns the existing order. Required.
	RefID    string
	Provider topuporder.Provider
	// PackID is the credit pack bought (active and live). Required from a
	// tenant viewer.
	PackID string

	// TenantID is the order's tenant: required from the system viewer;
	// from a tenant viewer empty or its own (privacy.ErrTenantMismatch).
	TenantID string

	// System viewer only (privacy.ErrSystemOnly for a tenant viewer):
	// ProviderOrderID binds the provider's id now (a manual order, a
	// backfill; otherwise BindProviderOrder does once the payment exists),
	// and Credits, PaidAmount and PaidCurrency are an operator's terms,
	// instead of a pack's: all three, credits and price positive.
	ProviderOrderID string
	Credits         int64  // credit minor units granted when paid
	PaidAmount      int64  // price in minor units of PaidCurrency
	PaidCurrency    string // ISO 4217
}

// customTerms reports whether r carries terms of its own.
func (r OrderRequest) customTerms() bool {
	return r.Credits != 0 || r.PaidAmount != 0 || r.PaidCurrency != ""
}

// checkStrings refuses malformed strings (NUL, invalid UTF-8, a currency
// that is not ISO 4217) before anything else.
func (r OrderRequest) checkStrings() error {
	if err := input.Fields("billing.OrderRequest", input.F("RefID", r.RefID), input.F("Provider", r.Provider),
		input.F("PackID", r.PackID), input.F("TenantID", r.TenantID), input.F("ProviderOrderID", r.ProviderOrderID)); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOrder, err)
	}
	if r.PaidCurrency != "" {
		if err := input.Currency("billing.OrderRequest", "PaidCurrency", r.PaidCurrency); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidOrder, err)
		}
	}
	return nil
}

// validate checks an authorized request's content.
func (r OrderRequest) validate() error {
	switch {
	case r.RefID == "" || utf8.RuneCountInString(r.RefID) > 128:
		return invalid(ErrInvalidOrder, "ref id must have 1 to 128 characters")
	case topuporder.ProviderValidator(r.Provider) != nil:
		return invalid(ErrInvalidOrder, "provider %q", r.Provider)
	case utf8.RuneCountInString(r.ProviderOrderID) > 128:
		return invalid(ErrInvalidOrder, "provider order id must have at most 128 characters")
	case r.PackID != "" && r.customTerms():
		return invalid(ErrInvalidOrder, "an order has a pack's terms or its own, not both")
	case r.PackID == "" && !r.customTerms():
		return invalid(ErrInvalidOrder, "no credit pack and no terms")
	case r.PackID != "":
		return nil
	case r.Credits <= 0:
		return invalid(ErrInvalidOrder, "credits must be positive, got %d", r.Credits)
	case r.PaidAmount <= 0:
		return invalid(ErrInvalidOrder, "price must be positive, got %d", r.PaidAmount)
	case r.PaidCurrency == "":
		return invalid(ErrInvalidOrder, "a price without a currency")
	}
	return nil
}

// authorize returns the order's tenant and whether the system asks. A
// tenant viewer gets only what the catalog sells, at the catalog's terms,
// for itself; the provider's id is bound by the system, so no tenant can
// claim (or probe) another's.
func (r OrderRequest) authorize(ctx context.Context) (tenantID string, system bool, err error) {
	v, ok := privacy.FromContext(ctx)
	switch {
	case !ok:
		return "", false, fmt.Errorf("billing: create order: %w", privacy.ErrNoViewer)
	case v.System:
		if !privacy.IsTenantID(r.TenantID) {
			return "", true, invalid(ErrInvalidOrder, "the system viewer must name the order's tenant, got %q", r.TenantID)
		}
		return r.TenantID, true, nil
	case r.TenantID != "" && r.TenantID != v.TenantID:
		return "", false, fmt.Errorf("billing: create order for another tenant: %w", privacy.ErrTenantMismatch)
	case r.customTerms():
		return "", false, fmt.Errorf("billing: create order: an order's terms come from a credit pack (PackID): %w", privacy.ErrSystemOnly)
	case r.ProviderOrderID != "":
		return "", false, fmt.Errorf("billing: create order: the provider's order id is bound by the system: %w", privacy.ErrSystemOnly)
	}
	return v.TenantID, false, nil
}

// CreateOrder creates a topup order in state created and returns it. A
// tenant viewer orders a pack for itself and must be active
// (privacy.ErrTenantInactive); the system viewer orders for any live
// tenant. An unknown, deleted or inactive pack is ErrPackUnavailable. The
// same RefID with the same request returns the existing order; with
// another, ErrOrderConflict (which says nothing of other tenants' orders).
// Nothing is written when an error is returned.
func (b *Billing) CreateOrder(ctx context.Context, r OrderRequest) (*ent.TopupOrder, error) {
	if _, ok := privacy.FromContext(ctx); !ok {
		return nil, fmt.Errorf("billing: create order: %w", privacy.ErrNoViewer)
	}
	if err := r.checkStrings(); err != nil {
		return nil, err
	}
	tenantID, system, err := r.authorize(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	sys := privacy.WithSystem(ctx)
	if system {
		// The system orders for a suspended tenant too (a debt to settle),
		// not for one that does not exist.
		ok, err := b.client.Tenant.Query().Where(tenant.ID(tenantID)).Exist(sys)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("billing: create order: %w: tenant %q does not exist or is deleted", privacy.ErrTenantInactive, tenantID)
		}
	} else if err := privacy.CheckTenantActive(ctx, b.client, tenantID); err != nil {
		// Cached: no round trip on a warm path. The order is written as
		// the system (below), so the policy's gate would not run.
		return nil, fmt.Errorf("billing: create order: %w", err)
	}
	create := b.client.TopupOrder.Create().SetTenantID(tenantID).SetRefID(r.RefID).SetProvider(r.Provider)
	if r.PackID != "" {
		p, err := b.client.CreditPack.Query().Where(creditpack.ID(r.PackID), creditpack.Active(true)).Only(sys)
		if ent.IsNotFound(err) {
			return nil, fmt.Errorf("%w: %q", ErrPackUnavailable, r.PackID)
		}
		if err != nil {
			return nil, err
		}
		create.SetCreditPackID(p.ID).SetCredits(p.Credits).SetPaidAmount(p.PriceAmount).SetPaidCurrency(p.PriceCurrency)
	} else {
		create.SetCredits(r.Credits).SetPaidAmount(r.PaidAmount).SetPaidCurrency(r.PaidCurrency)
	}
	if r.ProviderOrderID != "" {
		create.SetProviderOrderID(r.ProviderOrderID)
	}
	// Orders are written by billing only (tenant viewers may not write
	// them through Ent): create as the system, for the tenant.
	o, err := create.Save(sys)
	if !ent.IsConstraintError(err) {
		return o, err
	}
	// The ref id (or, from the system, the provider's id) is taken: the
	// same order again, or a conflict. The database's error is not passed
	// on: it names constraints.
	o, qerr := b.client.TopupOrder.Query().Where(topuporder.TenantID(tenantID), topuporder.RefID(r.RefID)).Only(sys)
	switch {
	case qerr == nil && sameOrder(o, r):
		return o, nil
	case qerr == nil:
		return nil, fmt.Errorf("%w: ref id %q names another order", ErrOrderConflict, r.RefID)
	case !ent.IsNotFound(qerr): // e.g. inside a transaction the violation aborted
		return nil, fmt.Errorf("%w: ref id %q or provider order id taken; reading the order: %w", ErrOrderConflict, r.RefID, qerr)
	case r.ProviderOrderID != "":
		return nil, fmt.Errorf("%w: provider order id %q is bound to another order", ErrOrderConflict, r.ProviderOrderID)
	}
	return nil, fmt.Errorf("%w: ref id %q is taken", ErrOrderConflict, r.RefID)
}

// sameOrder reports whether o is what r asked for: the same pack (its
// terms never change) or the same terms, and the same provider ids.
func sameOrder(o *ent.TopupOrder, r OrderRequest) bool {
	if o.Provider != r.Provider || (r.ProviderOrderID != "" && deref(o.ProviderOrderID) != r.ProviderOrderID) {
		return false
	}
	if r.PackID != "" {
		return deref(o.CreditPackID) == r.PackID
	}
	return o.CreditPackID == nil && o.Credits == r.Credits && o.PaidAmount == r.PaidAmount && o.PaidCurrency == r.PaidCurrency
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// BindProviderOrder records the provider's id of an order (the payment
// intent or order the platform created for it), once: the provider's
// events find the order by it. Binding the same id again returns the
// order; another id for the order, or an id bound to another order, is
// ErrOrderConflict; no such order, ErrUnknownOrder. Only the system
// viewer binds (privacy.ErrSystemOnly): the id comes from the provider,
// never from a tenant.
func (b *Billing) BindProviderOrder(ctx context.Context, orderID, providerOrderID string) (*ent.TopupOrder, error) {
	if err := systemOnly(ctx, "bind a provider order id"); err != nil {
		return nil, err
	}
	if err := input.Fields("billing.BindProviderOrder", input.F("orderID", orderID), input.F("providerOrderID", providerOrderID)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOrder, err)
	}
	if providerOrderID == "" || utf8.RuneCountInString(providerOrderID) > 128 {
		return nil, invalid(ErrInvalidOrder, "provider order id must have 1 to 128 characters")
	}
	n, err := b.client.TopupOrder.Update().
		Where(topuporder.ID(orderID), topuporder.ProviderOrderIDIsNil()).
		SetProviderOrderID(providerOrderID).Save(ctx)
	if ent.IsConstraintError(err) {
		return nil, fmt.Errorf("%w: provider order id %q is bound to another order", ErrOrderConflict, providerOrderID)
	}
	if err != nil {
		return nil, err
	}
	o, err := b.client.TopupOrder.Query().Where(topuporder.ID(orderID)).Only(ctx)
	switch {
	case ent.IsNotFound(err):
		return nil, fmt.Errorf("%w: %q", ErrUnknownOrder, orderID)
	case err != nil:
		return nil, err
	case n == 0 && deref(o.ProviderOrderID) != providerOrderID:
		return nil, fmt.Errorf("%w: order %s is bound to provider order id %q", ErrOrderConflict, orderID, deref(o.ProviderOrderID))
	}
	return o, nil
}
