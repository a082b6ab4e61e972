package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/privacy"
)

// isolationReport shows tenant isolation at work: each tenant's viewer
// counts only its own rows, and reading another tenant's row by its id
// finds nothing; without a viewer, nothing is read at all.
func (e *demoEnv) isolationReport(ctx context.Context) error {
	if len(e.tenants) < 2 {
		return errors.New("isolation report needs at least two tenants")
	}
	// A fresh query per count: a query object keeps the filters of the
	// viewer it ran with.
	counts := []struct {
		name  string
		count func(context.Context) (int, error)
	}{
		{"users", func(ctx context.Context) (int, error) { return e.client.User.Query().Count(ctx) }},
		{"campaigns", func(ctx context.Context) (int, error) { return e.client.Campaign.Query().Count(ctx) }},
		{"activities", func(ctx context.Context) (int, error) { return e.client.Activity.Query().Count(ctx) }},
		{"deliverables", func(ctx context.Context) (int, error) { return e.client.Deliverable.Query().Count(ctx) }},
		{"llm_call_logs", func(ctx context.Context) (int, error) { return e.client.LlmCallLog.Query().Count(ctx) }},
		{"tenants", func(ctx context.Context) (int, error) { return e.client.Tenant.Query().Count(ctx) }},
		{"plans (shared)", func(ctx context.Context) (int, error) { return e.client.Plan.Query().Count(ctx) }},
	}
	fmt.Fprintf(e.out, "\nTenant isolation: rows each tenant's viewer counts through the data layer\n%-24s", "viewer")
	for _, c := range counts {
		fmt.Fprintf(e.out, " %14s", c.name)
	}
	fmt.Fprintln(e.out)
	for _, t := range e.tenants {
		vctx := privacy.WithTenant(ctx, t.ID)
		fmt.Fprintf(e.out, "%-24s", t.Slug)
		for _, c := range counts {
			n, err := c.count(vctx)
			if err != nil {
				return fmt.Errorf("count %s as %s: %w", c.name, t.Slug, err)
			}
			fmt.Fprintf(e.out, " %14d", n)
		}
		fmt.Fprintln(e.out)
	}

	owner, intruder := e.tenants[0], e.tenants[1]
	target, err := e.client.Campaign.Query().First(privacy.WithTenant(ctx, owner.ID))
	if err != nil {
		return fmt.Errorf("pick %s's campaign: %w", owner.Slug, err)
	}
	fmt.Fprintf(e.out, "\nCross-tenant read: %s asks for %s's campaign %s by id\n", intruder.Slug, owner.Slug, target.ID)
	_, err = e.client.Campaign.Get(privacy.WithTenant(ctx, intruder.ID), target.ID)
	switch {
	case ent.IsNotFound(err):
		fmt.Fprintf(e.out, "  as %-20s -> not found (isolated)\n", intruder.Slug)
	case err == nil:
		return fmt.Errorf("ISOLATION BROKEN: %s read %s's campaign", intruder.Slug, owner.Slug)
	default:
		return err
	}
	got, err := e.client.Campaign.Get(privacy.WithTenant(ctx, owner.ID), target.ID)
	if err != nil {
		return fmt.Errorf("%s reading its own campaign: %w", owner.Slug, err)
	}
	fmt.Fprintf(e.out, "  as %-20s -> %q\n", owner.Slug, got.Name)
	if _, err = e.client.Campaign.Get(ctx, target.ID); !errors.Is(err, privacy.ErrNoViewer) {
		return fmt.Errorf("ISOLATION BROKEN: a read without a viewer was not refused: %v", err)
	}
	fmt.Fprintf(e.out, "  with no viewer           -> refused\n")
	return nil
}
