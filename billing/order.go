package billing

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/topuporder"
	"github.com/leadmetrics/db/input"
	"github.com/leadmetrics/db/privacy"
)

// OrderRequest asks for a topup order of the viewer's tenant.
type OrderRequest struct {
	// RefID is the caller's idempotency key: creating it again returns the
	// existing order. Required.
	RefID           string
	Provider        topuporder.Provider
	ProviderOrderID string // the provider's id (payment intent, order id)
	Credits         int64  // credit minor units granted when paid
	PaidAmount      int64  // price in minor units of PaidCurrency
	PaidCurrency    string // ISO 4217
}

func (r OrderRequest) validate() error {
	if err := input.Fields("billing.OrderRequest", input.F("RefID", r.RefID), input.F("Provider", r.Provider),
		input.F("ProviderOrderID", r.ProviderOrderID)); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOrder, err)
	}
	if err := input.Currency("billing.OrderRequest", "PaidCurrency", r.PaidCurrency); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOrder, err)
	}
	switch {
	case r.RefID == "" || utf8.RuneCountInString(r.RefID) > 128:
		return invalid(ErrInvalidOrder, "ref id must have 1 to 128 characters")
	case topuporder.ProviderValidator(r.Provider) != nil:
		return invalid(ErrInvalidOrder, "provider %q", r.Provider)
	case r.ProviderOrderID == "" || utf8.RuneCountInString(r.ProviderOrderID) > 128:
		return invalid(ErrInvalidOrder, "provider order id must have 1 to 128 characters")
	case r.Credits <= 0:
		return invalid(ErrInvalidOrder, "credits must be positive, got %d", r.Credits)
	case r.PaidAmount < 0:
		return invalid(ErrInvalidOrder, "negative price %d", r.PaidAmount)
	}
	return nil
}

// CreateOrder creates a topup order in state created for the tenant in
// ctx, which must be active (privacy.ErrTenantInactive otherwise). The
// same RefID with the same content returns the existing order.
func (b *Billing) CreateOrder(ctx context.Context, r OrderRequest) (*ent.TopupOrder, error) {
	v, ok := privacy.FromContext(ctx)
	if !ok || v.System || v.TenantID == "" {
		return nil, fmt.Errorf("billing: create order: a tenant viewer is required: %w", privacy.ErrNoViewer)
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	// The order is created as the system (below), so the lifecycle gate of
	// Ent's policy does not run: check the tenant here (cached, no round
	// trip on a warm path).
	if err := privacy.CheckTenantActive(ctx, b.client, v.TenantID); err != nil {
		return nil, fmt.Errorf("billing: create order: %w", err)
	}
	// Orders are written by billing only (tenant viewers may not write
	// them through Ent): create as the system, for the viewer's tenant.
	o, err := b.client.TopupOrder.Create().SetTenantID(v.TenantID).SetRefID(r.RefID).
		SetProvider(r.Provider).SetProviderOrderID(r.ProviderOrderID).SetCredits(r.Credits).
		SetPaidAmount(r.PaidAmount).SetPaidCurrency(r.PaidCurrency).Save(privacy.WithSystem(ctx))
	if !ent.IsConstraintError(err) {
		return o, err
	}
	// The ref id or the provider order id exists: the same order again, or
	// a conflict.
	o, qerr := b.client.TopupOrder.Query().
		Where(topuporder.TenantID(v.TenantID), topuporder.RefID(r.RefID)).Only(ctx)
	if qerr != nil || o.Provider != r.Provider || o.ProviderOrderID != r.ProviderOrderID ||
		o.Credits != r.Credits || o.PaidAmount != r.PaidAmount || o.PaidCurrency != r.PaidCurrency {
		return nil, fmt.Errorf("%w: %v", ErrOrderConflict, err)
	}
	return o, nil
}
