package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/tenant"
	"github.com/leadmetrics/db/input"
	"github.com/leadmetrics/db/privacy"
)

// tenantStatusCommand is "datactl tenant suspend|activate|close ID": an
// operator's change of a tenant's status, through the Ent client as the
// system viewer (the Tenant hook, input checks, updated_at). Writes of a
// suspended or closed tenant are refused (reads go on); every process's
// lifecycle gate sees the change within privacy.TenantStateTTL.
func tenantStatusCommand(to tenant.Status) func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
	return func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
		url := fs.String("url", "", "database URL (default DATABASE_URL, else the local server)")
		return func(ctx context.Context, args []string, out io.Writer) error {
			return setTenantStatus(ctx, *url, args[0], to, out)
		}
	}
}

func setTenantStatus(ctx context.Context, url, id string, to tenant.Status, out io.Writer) error {
	if err := input.Fields("datactl tenant", input.F("ID", id)); err != nil {
		return err
	}
	h, err := openTarget(ctx, url)
	if err != nil {
		return err
	}
	defer h.Close()
	sys := privacy.WithSystem(ctx)
	t, err := h.Tenant.Get(sys, id)
	if ent.IsNotFound(err) {
		return fmt.Errorf("tenant %s: no live tenant has this id (unknown or deleted)", id)
	}
	if err != nil {
		return err
	}
	if t.Status == to {
		fmt.Fprintf(out, "tenant %s (%s) is already %s\n", id, t.Slug, to)
		return nil
	}
	if err := h.Tenant.UpdateOneID(id).SetStatus(to).Exec(sys); err != nil {
		return err
	}
	fmt.Fprintf(out, "tenant %s (%s): %s -> %s; every process's writes follow within %s\n",
		id, t.Slug, t.Status, to, privacy.TenantStateTTL)
	return nil
}

// openTarget opens the configured database (--url overrides DATABASE_URL)
// with a minimal pool, for the commands that work on rows.
func openTarget(ctx context.Context, url string) (*db.DB, error) {
	cfg, err := db.ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	if url != "" {
		cfg.URL = url
	}
	cfg.PoolMin = 1
	return db.Open(ctx, cfg)
}
