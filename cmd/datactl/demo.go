package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/deliverable"
	"github.com/leadmetrics/db/ent/tenant"
	"github.com/leadmetrics/db/ent/user"
	"github.com/leadmetrics/db/internal/migrate/pgserver"
	"github.com/leadmetrics/db/migrations"
	"github.com/leadmetrics/db/privacy"
)

// demoEnv is what every part of the demo works with.
type demoEnv struct {
	client  *ent.Client   // from db.Open
	db      *sql.DB       // raw handle on the same database
	tenants []*ent.Tenant // the demo tenants
	out     io.Writer
}

// tenantRef is the natural key every demo upsert conflicts on, so a second
// run finds the rows of the first and changes nothing.
var tenantRef = []string{"tenant_id", "ref_id"}

func demoCommand(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
	url := fs.String("url", "", "database URL (default DATABASE_URL, else the local server)")
	force := fs.Bool("force", false, "write the demo data even into a database holding other tenants")
	return func(ctx context.Context, _ []string, out io.Writer) error { return runDemo(ctx, *url, *force, out) }
}

// ErrForeignTenants refuses to write demo data next to real tenants.
var ErrForeignTenants = errors.New("the database holds tenants the demo did not create")

func runDemo(ctx context.Context, url string, force bool, out io.Writer) error {
	cfg, err := db.ConfigFromEnv()
	if err != nil {
		return err
	}
	if url != "" {
		cfg.URL = url
	}
	dsn, err := cfg.DSN()
	if err != nil {
		return err
	}
	step(out, "database %s", cfg.Redacted())
	created, err := pgserver.EnsureDatabase(ctx, dsn)
	if err != nil {
		return err
	}
	if created {
		step(out, "created the database")
	}
	sqlDB, err := db.OpenDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	if !force {
		foreign, err := foreignTenants(ctx, sqlDB)
		if err != nil {
			return err
		}
		if len(foreign) > 0 {
			return fmt.Errorf("%w (%s): point --url at a development database, or pass --force", ErrForeignTenants, strings.Join(foreign, ", "))
		}
	}
	step(out, "applying migrations")
	res, err := migrations.Apply(ctx, sqlDB, migrations.Options{
		Log: func(format string, args ...any) { step(out, "  "+format, args...) },
	})
	if err != nil {
		return err
	}
	step(out, "schema at version %s (%d applied now)", res.Current, len(res.Applied))

	env := &demoEnv{client: db.NewClient(sqlDB), db: sqlDB, out: out}
	step(out, "writing demo data")
	if err := env.seed(ctx); err != nil {
		return err
	}
	step(out, "credits: topups through webhooks, plan grants, LLM usage")
	if err := env.ledgerDemo(ctx); err != nil {
		return err
	}
	if err := env.report(ctx); err != nil {
		return err
	}
	return env.isolationReport(ctx)
}

func step(out io.Writer, format string, args ...any) {
	fmt.Fprintf(out, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// demoTenants are the client businesses of the demo.
var demoTenants = []struct{ slug, name, plan string }{
	{"acme-bakery", "Acme Bakery", "starter"},
	{"globex-fitness", "Globex Fitness", "growth"},
	{"initech-legal", "Initech Legal", "growth"},
}

// demoTenantRef is the ref_id the demo gives its tenant with this slug; a
// tenant with a demo slug and another ref_id is not the demo's.
func demoTenantRef(slug string) string { return "tenant-" + slug }

// foreignTenants lists (up to five) slugs of tenants, live or deleted, the
// demo did not create; none when the schema is not there yet.
func foreignTenants(ctx context.Context, sqlDB *sql.DB) ([]string, error) {
	var exists bool
	if err := sqlDB.QueryRowContext(ctx, `SELECT to_regclass('public.tenants') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		return nil, err
	}
	var slugs, refs []string
	for _, t := range demoTenants {
		slugs, refs = append(slugs, t.slug), append(refs, demoTenantRef(t.slug))
	}
	return pgserver.Strings(ctx, sqlDB, `SELECT slug FROM tenants
WHERE (slug, ref_id) NOT IN (SELECT * FROM unnest($1::text[], $2::text[])) ORDER BY slug LIMIT 5`, slugs, refs)
}

func (e *demoEnv) seed(ctx context.Context) error {
	sys := privacy.WithSystem(ctx)
	plans := map[string]string{}
	for _, p := range []struct {
		code, name string
		price      int64
		credits    int64
	}{{"starter", "Starter", 4900, 50_000}, {"growth", "Growth", 19900, 250_000}} {
		id, err := e.client.Plan.Create().
			SetTenantID(privacy.PlatformTenantID).SetRefID("plan-" + p.code).
			SetCode(p.code).SetName(p.name).SetPriceAmount(p.price).SetPriceCurrency("USD").
			SetIncludedCredits(p.credits).
			OnConflictColumns(tenantRef...).Ignore().ID(sys)
		if err != nil {
			return fmt.Errorf("plan %s: %w", p.code, err)
		}
		plans[p.code] = id
	}
	for _, t := range demoTenants {
		id := cuid.New()
		tid, err := e.client.Tenant.Create().
			SetID(id).SetTenantID(id).SetRefID(demoTenantRef(t.slug)).
			SetName(t.name).SetSlug(t.slug).SetPlanID(plans[t.plan]).
			SetBillingEmail("billing@"+t.slug+".example").
			SetSettings(map[string]any{"timezone": "UTC", "locale": "en"}).
			OnConflict(entsql.ConflictColumns(tenant.FieldSlug), entsql.ConflictWhere(entsql.IsNull(tenant.FieldDeletedAt))).
			Ignore().ID(sys)
		if err != nil {
			return fmt.Errorf("tenant %s: %w", t.slug, err)
		}
		tn, err := e.client.Tenant.Get(privacy.WithTenant(ctx, tid), tid)
		if err != nil {
			return err
		}
		e.tenants = append(e.tenants, tn)
		step(e.out, "  tenant %s (%s)", tn.Slug, tn.ID)
		if err := e.seedTenant(privacy.WithTenant(ctx, tid), tn); err != nil {
			return fmt.Errorf("tenant %s: %w", t.slug, err)
		}
	}
	return nil
}

// seedTenant writes one tenant's operational, configuration and audit rows.
func (e *demoEnv) seedTenant(ctx context.Context, t *ent.Tenant) error {
	c, tid := e.client, t.ID
	var users []string
	for i, role := range []string{"owner", "admin", "member"} {
		id, err := c.User.Create().SetTenantID(tid).SetRefID(fmt.Sprintf("user-%d", i)).
			SetEmail(fmt.Sprintf("%s.%d@%s.example", role, i, t.Slug)).
			SetName(strings.ToUpper(role[:1]) + role[1:] + " of " + t.Name).
			SetRole(userRole(role)).SetStatus("active").
			OnConflictColumns(tenantRef...).Ignore().ID(ctx)
		if err != nil {
			return fmt.Errorf("user: %w", err)
		}
		users = append(users, id)
	}
	agents := map[string]string{}
	for _, a := range []struct{ typ, model string }{{"copywriter", "gpt-4o"}, {"ads-optimizer", "claude-sonnet"}} {
		id, err := c.AgentConfig.Create().SetTenantID(tid).SetRefID("agent-" + a.typ).
			SetAgentType(a.typ).SetName(a.typ + " agent").SetModel(a.model).
			SetSystemPrompt("You write marketing copy for " + t.Name + ".").
			SetParameters(map[string]any{"temperature": 0.7}).
			OnConflictColumns(tenantRef...).Ignore().ID(ctx)
		if err != nil {
			return fmt.Errorf("agent config: %w", err)
		}
		agents[a.typ] = id
	}
	start := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	for ci, name := range []string{"Holiday launch", "Always-on search"} {
		cid, err := c.Campaign.Create().SetTenantID(tid).SetRefID(fmt.Sprintf("campaign-%d", ci)).
			SetName(name).SetObjective("Grow qualified leads").SetStatus("active").
			SetChannels([]string{"email", "social"}).SetStartsAt(start).SetEndsAt(start.AddDate(0, 2, 0)).
			SetBudgetAmount(250_000).SetBudgetCurrency("USD").SetOwnerID(users[0]).
			OnConflictColumns(tenantRef...).Ignore().ID(ctx)
		if err != nil {
			return fmt.Errorf("campaign: %w", err)
		}
		for ai, kind := range []string{"blog_post", "social_post", "email"} {
			ref := fmt.Sprintf("activity-%d-%d", ci, ai)
			aid, err := c.Activity.Create().SetTenantID(tid).SetRefID(ref).
				SetType("write_" + kind).SetTitle(fmt.Sprintf("%s for %s", kind, name)).
				SetStatus("completed").SetPriority(ai).SetScheduledAt(start.Add(time.Duration(ai) * time.Hour)).
				SetCampaignID(cid).SetAgentConfigID(agents["copywriter"]).SetAssigneeID(users[2]).
				SetInput(map[string]any{"brief": name}).SetAttempts(1).
				OnConflictColumns(tenantRef...).Ignore().ID(ctx)
			if err != nil {
				return fmt.Errorf("activity: %w", err)
			}
			did, err := c.Deliverable.Create().SetTenantID(tid).SetRefID("deliverable-" + ref).
				SetKind(deliverableKind(kind)).SetTitle("Draft " + kind).SetBody("Lorem ipsum for " + t.Name).
				SetStatus("pending_review").SetActivityID(aid).SetCampaignID(cid).
				OnConflictColumns(tenantRef...).Ignore().ID(ctx)
			if err != nil {
				return fmt.Errorf("deliverable: %w", err)
			}
			if _, err := c.HitlApproval.Create().SetTenantID(tid).SetRefID("approval-" + ref).
				SetActivityID(aid).SetDeliverableID(did).SetRequestedByAgentID(agents["copywriter"]).
				SetRequestedAt(start).SetExpiresAt(start.AddDate(0, 0, 3)).
				OnConflictColumns(tenantRef...).Ignore().ID(ctx); err != nil {
				return fmt.Errorf("hitl approval: %w", err)
			}
			if _, err := c.LlmCallLog.Create().SetTenantID(tid).SetRefID("llm-" + ref).
				SetProvider("openai").SetModel("gpt-4o").SetPromptTokens(1200 + 10*ai).SetCompletionTokens(600).
				SetCost(int64(180 + ai)).SetLatencyMs(2100).SetActivityID(aid).SetAgentConfigID(agents["copywriter"]).
				OnConflictColumns(tenantRef...).Ignore().ID(ctx); err != nil {
				return fmt.Errorf("llm call log: %w", err)
			}
		}
	}
	if _, err := c.NotificationProvider.Create().SetTenantID(tid).SetRefID("notify-email").
		SetChannel("email").SetProvider("ses").SetDisplayName("Transactional email").
		SetConfig(map[string]any{"from": "hello@" + t.Slug + ".example"}).SetIsDefault(true).
		OnConflictColumns(tenantRef...).Ignore().ID(ctx); err != nil {
		return fmt.Errorf("notification provider: %w", err)
	}
	for i := range 3 {
		if _, err := c.DispatchLog.Create().SetTenantID(tid).SetRefID(fmt.Sprintf("dispatch-%d", i)).
			SetProvider("ses").SetChannel("email").SetRecipient(fmt.Sprintf("lead%d@customer.example", i)).
			SetTemplate("welcome").SetStatus("delivered").SetAttempts(1).
			OnConflictColumns(tenantRef...).Ignore().ID(ctx); err != nil {
			return fmt.Errorf("dispatch log: %w", err)
		}
	}
	if _, err := c.Integration.Create().SetTenantID(tid).SetRefID("integration-ga4").
		SetProvider("ga4").SetName("Google Analytics").SetStatus("connected").
		SetScopes([]string{"analytics.readonly"}).
		OnConflictColumns(tenantRef...).Ignore().ID(ctx); err != nil {
		return fmt.Errorf("integration: %w", err)
	}
	if _, err := c.AuditLog.Create().SetTenantID(tid).SetRefID("audit-seed").
		SetActorType("system").SetAction("demo.seed").SetEntityType("tenant").SetEntityID(tid).
		OnConflictColumns(tenantRef...).Ignore().ID(ctx); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return nil
}

// report prints rows per table per tenant, read with raw SQL as the operator.
func (e *demoEnv) report(ctx context.Context) error {
	tables, err := pgserver.Tables(ctx, e.db)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.out, "\nRows per table per tenant\n%-24s", "table")
	for _, t := range e.tenants {
		fmt.Fprintf(e.out, " %16s", t.Slug)
	}
	fmt.Fprintf(e.out, " %10s\n", "platform")
	for _, table := range tables {
		fmt.Fprintf(e.out, "%-24s", table)
		counts := map[string]int{}
		q := fmt.Sprintf(`SELECT tenant_id, count(*) FROM %q GROUP BY tenant_id`, table)
		r, err := e.db.QueryContext(ctx, q)
		if err != nil {
			return err
		}
		for r.Next() {
			var tid string
			var n int
			if err := r.Scan(&tid, &n); err != nil {
				r.Close()
				return err
			}
			counts[tid] = n
		}
		r.Close()
		for _, t := range e.tenants {
			fmt.Fprintf(e.out, " %16d", counts[t.ID])
		}
		fmt.Fprintf(e.out, " %10d\n", counts[privacy.PlatformTenantID])
	}
	return nil
}

func userRole(s string) user.Role               { return user.Role(s) }
func deliverableKind(s string) deliverable.Kind { return deliverable.Kind(s) }
