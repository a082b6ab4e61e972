package main

import (
	"context"
	"fmt"
	"time"

	"github.com/leadmetrics/db/billing"
	"github.com/leadmetrics/db/ent/topuporder"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
)

// demoGrantTime fixes the plan grant's period, so reruns grant nothing new.
var demoGrantTime = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// ledgerDemo gives each demo tenant a topup paid through a webhook that is
// delivered twice, its plan's monthly grant, and LLM calls that spend
// credits; then it prints balances and the reconciliation verdict. Every
// key is fixed: a second run writes nothing.
func (e *demoEnv) ledgerDemo(ctx context.Context) error {
	l := ledger.New(e.client, e.db)
	b := billing.New(e.client, e.db, l)
	sys := privacy.WithSystem(ctx)
	// The catalog's pack: tenants order it by id; its price and credits
	// are the order's terms.
	pack, err := e.client.CreditPack.Create().SetTenantID(privacy.PlatformTenantID).SetRefID("pack-credits-100k").
		SetCode("credits-100k").SetName("100,000 credits").SetCredits(100_000).SetPriceAmount(1_000).SetPriceCurrency("USD").
		OnConflictColumns(tenantRef...).Ignore().ID(sys)
	if err != nil {
		return fmt.Errorf("credit pack: %w", err)
	}
	fmt.Fprintf(e.out, "\nCredits\n%-16s %10s %10s %10s %10s %12s  %s\n",
		"tenant", "topup", "grant", "llm calls", "spent", "balance", "reconciliation")
	for _, t := range e.tenants {
		tctx := privacy.WithActor(privacy.WithTenant(ctx, t.ID), privacy.ActorSystem, "dbctl-demo")
		if err := l.EnsureBalance(tctx); err != nil {
			return err
		}
		// The tenant orders the pack; the platform creates the provider's
		// payment for the order's price and binds its id.
		order, err := b.CreateOrder(tctx, billing.OrderRequest{RefID: "demo-pack-topup", Provider: topuporder.ProviderStripe, PackID: pack})
		if err != nil {
			return fmt.Errorf("%s: topup order: %w", t.Slug, err)
		}
		if order, err = b.BindProviderOrder(sys, order.ID, "pi_demo_pack_"+t.Slug); err != nil {
			return fmt.Errorf("%s: provider order: %w", t.Slug, err)
		}
		// The provider delivers "payment succeeded" twice: one credit.
		ev := billing.Event{Provider: topuporder.ProviderStripe, EventID: "evt_demo_pack_paid_" + t.Slug,
			Type: billing.EventPaymentSucceeded, ProviderOrderID: *order.ProviderOrderID, Amount: order.PaidAmount,
			Currency: order.PaidCurrency, Payload: map[string]any{"amount": order.PaidAmount, "currency": order.PaidCurrency}}
		for range 2 {
			if _, err := b.HandleEvent(sys, ev); err != nil {
				return fmt.Errorf("%s: webhook: %w", t.Slug, err)
			}
		}
		grant, err := l.GrantPlan(sys, t.ID, demoGrantTime)
		if err != nil {
			return fmt.Errorf("%s: plan grant: %w", t.Slug, err)
		}
		var spent int64
		calls := 0
		for i := range 5 {
			_, entry, err := l.RecordLLMCall(tctx, ledger.LLMCall{RefID: fmt.Sprintf("demo-llm-%d", i),
				Provider: "openai", Model: "gpt-4o", PromptTokens: 1_500 + 100*i, CompletionTokens: 700,
				Cost: int64(1_200 + 150*i), LatencyMs: 1_800, Description: "demo copywriting call"})
			if err != nil {
				return fmt.Errorf("%s: llm call: %w", t.Slug, err)
			}
			spent -= entry.Amount
			calls++
		}
		balance, err := l.Balance(tctx)
		if err != nil {
			return err
		}
		report, err := l.Reconcile(tctx)
		if err != nil {
			return err
		}
		var granted int64
		if grant != nil {
			granted = grant.Amount
		}
		fmt.Fprintf(e.out, "%-16s %10d %10d %10d %10d %12d  %s\n",
			t.Slug, order.Credits, granted, calls, spent, balance, report)
	}
	all, err := l.ReconcileAll(sys)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.out, "all tenants: %s\n", all)
	return nil
}
