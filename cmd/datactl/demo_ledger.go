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
	fmt.Fprintf(e.out, "\nCredits\n%-16s %10s %10s %10s %10s %12s  %s\n",
		"tenant", "topup", "grant", "llm calls", "spent", "balance", "reconciliation")
	for _, t := range e.tenants {
		tctx := privacy.WithActor(privacy.WithTenant(ctx, t.ID), privacy.ActorSystem, "dbctl-demo")
		if err := l.EnsureBalance(tctx); err != nil {
			return err
		}
		order, err := b.CreateOrder(tctx, billing.OrderRequest{RefID: "demo-topup-1", Provider: topuporder.ProviderStripe,
			ProviderOrderID: "pi_demo_" + t.Slug, Credits: 100_000, PaidAmount: 1_000, PaidCurrency: "USD"})
		if err != nil {
			return fmt.Errorf("%s: topup order: %w", t.Slug, err)
		}
		// The provider delivers "payment succeeded" twice: one credit.
		ev := billing.Event{Provider: topuporder.ProviderStripe, EventID: "evt_demo_paid_" + t.Slug,
			Type: billing.EventPaymentSucceeded, ProviderOrderID: order.ProviderOrderID, Amount: 1_000, Currency: "usd",
			Payload: map[string]any{"amount": 1_000, "currency": "usd"}}
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
