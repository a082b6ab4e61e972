// Command datactl runs the operations that work on the data through the
// generated Ent client: the demo, log retention, credential key rotation,
// tenant status changes and the data browser (studio). The schema and
// migration tool is dbctl, which never builds the client, so a schema edit
// cannot stop it; datactl follows the schema and
// builds once the generated code and the code using it agree again.
package main

import (
	"context"
	"io"

	"github.com/leadmetrics/db/ent/tenant"
	"github.com/leadmetrics/db/internal/cli"
	"github.com/leadmetrics/db/internal/dbconfig"
	"github.com/leadmetrics/db/privacy"
)

var program = &cli.Program{
	Name:  "datactl",
	Title: "operate on the Leadmetrics data (demo, retention, credential keys, tenant status, studio)",
	Commands: []*cli.Command{
		{Path: "demo", Summary: "create the database if missing, migrate, write demo data, report",
			Help:  "Refuses a database holding tenants the demo did not create (slugs other than its own) unless --force.",
			Setup: demoCommand},
		{Path: "retention", Summary: "purge LLM call, dispatch and audit logs older than an age, in batches (never the ledger)",
			Help: "Resumable: a rerun continues where a stopped one left off. Billed LLM calls go too: their ledger entries keep the call id and are never rewritten.", Setup: retentionCommand},
		{Path: "credentials rotate", Summary: "re-seal credential secrets with the current key of CREDENTIALS_KEYS", Setup: credentialsCommand},
		{Path: "tenant suspend", Args: "ID", NArgs: [2]int{1, 1}, Summary: "suspend a tenant: its writes are refused, reads go on; every process follows within " + privacy.TenantStateTTL.String(),
			Setup: tenantStatusCommand(tenant.StatusSuspended)},
		{Path: "tenant activate", Args: "ID", NArgs: [2]int{1, 1}, Summary: "make a suspended or closed tenant active again",
			Setup: tenantStatusCommand(tenant.StatusActive)},
		{Path: "tenant close", Args: "ID", NArgs: [2]int{1, 1}, Summary: "close a tenant: like suspend, for a tenant that left",
			Setup: tenantStatusCommand(tenant.StatusClosed)},
		{Path: "studio", Summary: "browse one tenant's data in a local web page: read-only unless --write, every view audited (docs/STUDIO.md)",
			Help:  "Listens on 127.0.0.1:5555; prints the address with a one-time token. Every read runs as the tenant's viewer; --system offers the all-tenants view.",
			Setup: studioCommand},
	},
	Environment: dbconfig.Help(dbconfig.ByConfig, dbconfig.BySecrets, dbconfig.ByDatactl),
}

func main() { program.Main() }

// run is the program without the process around it (tests).
func run(ctx context.Context, args []string, out io.Writer) error { return program.Run(ctx, args, out) }
