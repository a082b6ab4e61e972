// Package db is the only way Leadmetrics' Go services touch PostgreSQL: it
// opens one connection pool with the generated Ent client and database/sql
// on it, and carries transactions, retries after a failover, reads from
// standbys, health, observability and the connection configuration. The
// schema is applied at start-up by package migrations, tenant isolation is
// package privacy's, credits are package ledger's.
//
// # Opening
//
// A service reads its configuration from the environment ([ConfigFromEnv];
// the variables are listed by `dbctl -h` and in the README), opens one pool
// with [Open] and applies the migrations embedded in its binary:
//
//	cfg, err := db.ConfigFromEnv() // a *db.ConfigError names the variable
//	h, err := db.Open(ctx, cfg)    // one pool, warmed to DATABASE_POOL_MIN
//	_, err = migrations.Apply(ctx, h.SQL, migrations.Options{AllowAhead: true})
//
// AllowAhead: in a rolling deploy the new release migrates first, and the
// old pods that still start (a restart, a scale-up) find a database with
// migrations newer than their binary. The migrations are expand and
// contract (MIGRATIONS.md), so the old code runs on the newer schema;
// without AllowAhead, Apply returns a *migrations.AheadError and the old
// pods crash-loop until the rollout is over. See ExampleOpen.
//
// [Open] returns a [*DB]: the Ent client (embedded, so h.User.Query()
// works), h.SQL, the *sql.DB on the same pool, for raw SQL, ledger.New and
// migrations, and [DB.Pool], the pgxpool itself (pgx's own API: COPY,
// batches). DATABASE_POOL_MAX bounds all three together and h.Close()
// releases every connection. The Ent client runs on pgxpool directly (no
// database/sql wrapper per statement); lookups by a unique key and inserts
// run as prepared statements, lists and counts are planned for their values
// on every execution (docs/SCALE.md, "Plans per statement class").
// [OpenDB] alone is for tools that need no Ent client (calling both opens
// two pools); [NewClient] puts an Ent client on a pool you already have.
// Open imports ent/runtime, which registers defaults, hooks and policies:
// code that builds its own ent.Client must import
// _ "github.com/leadmetrics/db/ent/runtime" too.
//
// # Tenants
//
// Tenant isolation is the layer's job, not the caller's: with no viewer in
// the context every query and mutation is refused (privacy.ErrNoViewer); a
// tenant viewer (privacy.WithTenant) reads, updates and deletes only its own
// rows (edge traversals, eager loading and HasXWith included), creates get
// tenant_id from the viewer, cross-tenant links are refused, deletes are
// soft (privacy.WithDeleted reads them, privacy.WithHardDelete removes rows
// for the system viewer), ledger entries and audit logs are immutable, and
// a suspended, closed or deleted tenant writes nothing (`datactl tenant
// suspend|activate|close ID`; a change is seen by this process as it
// commits and by every other within a second). Credential secrets are
// encrypted at rest (AES-256-GCM, CREDENTIALS_KEYS, package secrets,
// `datactl credentials rotate`) and print in no format. A NUL byte, invalid
// UTF-8 or a malformed currency in any field is refused before SQL with
// *input.ValidationError. The viewer API, the escape hatches (system viewer,
// raw SQL, Modify) and their risks: docs/TENANCY.md. See
// privacy.ExampleWithTenant.
//
// ref_id is unique per tenant, (tenant_id, ref_id), not globally as in the
// Prisma original, on purpose: an upsert can never reach another tenant's
// row and ref ids leak nothing across tenants.
//
// # Transactions
//
// [DB.WithTx] runs fn(ctx, tx) in one transaction: tx.Client (embedded:
// tx.User.Create()) is an Ent client in the transaction, hooks and policies
// included, and tx.SQL the *sql.Tx for raw SQL and the ledger's
// l.PostTx(ctx, tx.SQL, posting). It commits when fn returns nil and rolls
// everything back on an error or a panic. Serialization failures and
// deadlocks (SQLSTATE 40001, 40P01) are retried only when the caller
// declares fn safe to rerun with [Idempotent] (all its effects go through
// tx, no outside calls); otherwise, or after the last attempt, the error
// matches [ErrTxConflict]. [Isolation] and [ReadOnly] set the transaction
// mode. Billing.CreateOrder joins through billing.New(tx.Client, ...), an
// operator's manual move through b.TransitionTx(ctx, tx.SQL, orderID,
// status); Billing.HandleEvent owns its transaction: a provider event is
// its own unit of work, deduplicated as it commits, and recorded even when
// its posting fails. See ExampleDB_WithTx.
//
// # Credits
//
// Credits are exact and idempotent (package ledger, docs/LEDGER.md):
// Ledger.Post applies one entry in one SQL statement (per-tenant balance
// row lock, idempotency key per tenant, typed errors), PostBatch applies up
// to 1,000 postings of many tenants in one transaction with one result
// each, RecordLLMCall stores a call and its usage debit together
// (concurrent callers share one commit: Batcher), plan grants happen once
// per period, Reconcile reports every drift. Package billing turns
// deduplicated provider webhooks into exactly one credit per paid order, at
// the platform's prices: a tenant orders a credit pack by id
// (billing.OrderRequest{RefID, Provider, PackID}), and the system binds the
// provider's order id (Billing.BindProviderOrder). See
// ledger.ExampleLedger_Post.
//
// # Failover and retries
//
// Ledger postings, LLM call recordings, webhook handling, Ent upserts by
// (tenant_id, ref_id) through [DB.UpsertByRef] and WithTx with
// [Idempotent] are rerun after a lost connection or a failover ([Retry]
// for other idempotent work), with backoff inside the caller's deadline; a
// rerun that finds the first attempt committed reports ledger.Entry.Replayed,
// billing.Outcome.Duplicate or [Replayed]. Other writes (WithTx without Idempotent,
// plain Ent writes, Billing.CreateOrder, Billing.Transition,
// Ledger.IngestLLMCalls) are not rerun: one whose COMMIT or statement was
// in flight when the connection died is an [*OutcomeUnknownError]
// (errors.Is(err, ErrOutcomeUnknown); Op says what was in flight). Reads
// under [ReadOnlyContext] may go to a standby (DATABASE_READ_URL,
// [DB.Reader]); writes under it are [ErrReadOnly]. Several hosts in
// DATABASE_URL with target_session_attrs=read-write find the primary after
// a failover. docs/OPERATIONS.md has the guarantees and the measured
// failover times.
//
// # Health
//
// [DB.Check] is a readiness probe: one query on a pooled connection, the
// pool's saturation (Health.Saturated, [DB.Stats]: in use, idle, waits,
// wait time) and the database's migrations against the embedded files
// (Health.Schema: Pending when the database is behind, not an error). A
// database that does not answer gives [ErrUnavailable]; one with newer
// migrations than the binary a *migrations.AheadError naming them
// (errors.Is(err, migrations.ErrAhead)). `dbctl doctor` prints the same for
// an operator, with the server version, synchronous_commit,
// max_connections, TLS and the migration lock's holder.
//
// # Configuration and secrets
//
// The *_TIMEOUT variables take a Go duration (1500ms, 30s) or whole
// seconds. A bad value fails with a [*ConfigError] naming the variable
// (errors.Is(err, ErrConfig)); a server that does not answer within
// DATABASE_CONNECT_TIMEOUT a [*ConnectError] naming the host
// (errors.Is(err, ErrConnectTimeout)). Behind PgBouncer in transaction
// pooling mode set DATABASE_POOLER=pgbouncer: pgx then uses unnamed
// statements (QueryExecModeCacheDescribe), the statement and idle timeouts
// go on the role (ALTER ROLE ... SET), and migrations run against the
// server directly (their advisory lock is per session). Passwords never
// appear in errors or logs: the userinfo password and password= and
// sslpassword= parameters are redacted by [RedactURL], Config.Redacted, and
// Config's String, GoString, LogValue (slog) and MarshalJSON, so
// fmt.Printf("%v", cfg) is safe; [Scrub] and [RedactError] clean other
// text, and dbctl scrubs everything it prints.
//
// # Observability
//
// All off by default; off installs nothing on the statement path. Traces
// (DATABASE_TRACING) come from otelpgx, which sees every statement pgx runs
// (Ent's, the ledger's COPY and batches included): a child span per
// statement with db.system.name=postgresql, db.query.text (never the
// arguments), pgx.rows_affected, leadmetrics.tenant_id ([TenantAttr]: the
// viewer's tenant, "system" for the system viewer) and, on failure,
// pgx.sql_state. Metrics (DATABASE_METRICS): db.client.operation.duration
// and pgxpool's counters; leadmetrics.ledger.postings and
// leadmetrics.billing.webhook_events always go to the global MeterProvider
// (a no-op until the service sets one). Query logs (DATABASE_LOG_QUERIES,
// DATABASE_SLOW_QUERY_MS) carry sql, tenant, duration_ms, rows and error,
// never arguments. The cost of each: BENCHMARKS.md.
package db
