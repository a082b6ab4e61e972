package db_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"log/slog"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/billing"
	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent/creditledgerentry"
	"github.com/leadmetrics/db/ent/topuporder"
	"github.com/leadmetrics/db/ent/user"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
)

func attrOf(attrs []attribute.KeyValue, key attribute.Key) (attribute.Value, bool) {
	for _, a := range attrs {
		if a.Key == key {
			return a.Value, true
		}
	}
	return attribute.Value{}, false
}

// TestTracingOneSpanPerStatement: each statement under the caller's span
// is a child span with db.system.name, the statement text without its
// arguments, the rows, the tenant and, on failure, the error.
func TestTracingOneSpanPerStatement(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	h := openHandle(t, suitedb.URL(t), func(c *db.Config) { c.TracerProvider = tp })
	tenant := cuid.New()
	suitedb.Tenants(t, h.SQL, tenant)
	ctx, parent := tp.Tracer("test").Start(privacy.WithTenant(context.Background(), tenant), "request")
	for _, email := range []string{"a@example.com", "b@example.com"} {
		if err := h.User.Create().SetTenantID(tenant).SetRefID(email).SetEmail(email).SetName("X").Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rec.Reset()
	const secret = "needle-7f3a@example.com"
	if _, err := h.User.Query().Where(user.EmailNEQ(secret)).All(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.SQL.ExecContext(ctx, `SELECT 1 / $1::int`, 0); err == nil {
		t.Fatal("division by zero succeeded")
	}
	parent.End()
	var query, failed sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		text, _ := attrOf(s.Attributes(), "db.query.text")
		switch {
		case strings.Contains(text.AsString(), `FROM "users"`):
			query = s
		case strings.Contains(text.AsString(), "1 / $1"):
			failed = s
		}
	}
	if query == nil || failed == nil {
		t.Fatalf("spans %v: want the users query and the failed statement", rec.Ended())
	}
	for _, s := range []sdktrace.ReadOnlySpan{query, failed} {
		if s.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("span %s is not a child of the request", s.Name())
		}
		if v, _ := attrOf(s.Attributes(), "db.system.name"); v.AsString() != "postgresql" {
			t.Errorf("span %s: db.system.name %q", s.Name(), v.AsString())
		}
		if v, _ := attrOf(s.Attributes(), db.TenantAttr); v.AsString() != tenant {
			t.Errorf("span %s: tenant %q, want %s", s.Name(), v.AsString(), tenant)
		}
		for _, a := range s.Attributes() {
			if strings.Contains(a.Value.Emit(), secret) {
				t.Errorf("span %s carries an argument: %s=%s", s.Name(), a.Key, a.Value.Emit())
			}
		}
	}
	if v, ok := attrOf(query.Attributes(), "pgx.rows_affected"); !ok || v.AsInt64() != 2 {
		t.Errorf("rows of the users query: %v (present %t), want 2", v.Emit(), ok)
	}
	if failed.Status().Code != codes.Error || len(failed.Events()) == 0 {
		t.Errorf("failed statement: status %v, %d events; want an error", failed.Status(), len(failed.Events()))
	}
	if v, _ := attrOf(failed.Attributes(), "pgx.sql_state"); v.AsString() != "22012" {
		t.Errorf("failed statement: sql state %q, want 22012", v.AsString())
	}
}

// metricsOf collects the reader and indexes the data points by name.
func metricsOf(t *testing.T, r *sdkmetric.ManualReader) map[string]metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m.Data
		}
	}
	return out
}

func sumInt(a metricdata.Aggregation, match func(attribute.Set) bool) int64 {
	var n int64
	switch d := a.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			if match == nil || match(p.Attributes) {
				n += p.Value
			}
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			n += p.Value
		}
	}
	return n
}

// TestPoolAndStatementMetrics: the pool's gauges and wait counters and the
// statement duration histogram, read with the SDK's manual reader.
func TestPoolAndStatementMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	h := openHandle(t, suitedb.URL(t), func(c *db.Config) {
		c.PoolMax, c.MeterProvider = 2, sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { h.SQL.Exec(`SELECT pg_sleep(0.02)`) })
	}
	wg.Wait()
	m := metricsOf(t, reader)
	hist, ok := m["db.client.operation.duration"].(metricdata.Histogram[float64])
	var statements uint64
	for _, p := range hist.DataPoints {
		statements += p.Count
	}
	if !ok || statements < 8 {
		t.Fatalf("db.client.operation.duration: %d statements recorded, want at least 8", statements)
	}
	st := h.Stats()
	if st.Waits == 0 {
		t.Fatal("the load never waited for a connection")
	}
	checks := map[string]int64{
		"pgxpool.max_connections":         2,
		"pgxpool.acquired_connections":    0,
		"pgxpool.idle_connections":        int64(st.Idle),
		"pgxpool.empty_acquire":           st.Waits,
		"pgxpool.empty_acquire_wait_time": int64(st.WaitTime / time.Millisecond),
	}
	for name, want := range checks {
		a, ok := m[name]
		if !ok {
			t.Errorf("metric %s missing", name)
			continue
		}
		if got := sumInt(a, nil); got != want && name != "pgxpool.empty_acquire_wait_time" {
			t.Errorf("%s = %d, want %d", name, got, want)
		} else if name == "pgxpool.empty_acquire_wait_time" && got <= 0 {
			t.Errorf("%s = %d, want the time spent waiting", name, got)
		}
	}
}

// TestLedgerAndWebhookMetrics: postings, replays and refusals of the
// ledger, and webhook outcomes, through the global MeterProvider.
func TestLedgerAndWebhookMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	e := newTxEnv(t) // posts one topup
	post := func(amount int64, key string) {
		e.ledger.Post(e.sys, ledger.Posting{TenantID: e.tenant, Kind: creditledgerentry.KindTopup, Amount: amount, IdempotencyKey: key})
	}
	post(100, "seed") // replay
	post(5, "seed")   // conflict: refused
	post(7, "other")  // posted
	m := metricsOf(t, reader)
	count := func(outcome string) int64 {
		return sumInt(m["leadmetrics.ledger.postings"], func(s attribute.Set) bool {
			o, _ := s.Value("outcome")
			k, _ := s.Value("kind")
			return o.AsString() == outcome && k.AsString() == "topup"
		})
	}
	if count("posted") != 2 || count("replayed") != 1 || count("refused") != 1 {
		t.Fatalf("ledger postings: posted %d replayed %d refused %d, want 2 1 1", count("posted"), count("replayed"), count("refused"))
	}

	b := billing.New(e.h.Client, e.h.SQL, e.ledger)
	sys := privacy.WithSystem(context.Background())
	ev := billing.Event{Provider: topuporder.ProviderStripe, EventID: "evt_" + cuid.New(), Type: billing.EventPaymentSucceeded,
		ProviderOrderID: "pi_unknown", Amount: 100, Currency: "USD"}
	b.HandleEvent(sys, ev)              // no such order: stored as failed
	b.HandleEvent(sys, ev)              // redelivery: duplicate
	b.HandleEvent(sys, billing.Event{}) // invalid: rejected, nothing stored
	m = metricsOf(t, reader)
	events := func(outcome string) int64 {
		return sumInt(m["leadmetrics.billing.webhook_events"], func(s attribute.Set) bool {
			o, _ := s.Value("outcome")
			return o.AsString() == outcome
		})
	}
	if events("failed") != 1 || events("duplicate") != 1 || events("rejected") != 1 {
		t.Fatalf("webhook events: failed %d duplicate %d rejected %d, want 1 1 1", events("failed"), events("duplicate"), events("rejected"))
	}
}

// TestQueryLogging: slow statements at Warn with tenant, duration and
// rows, never the arguments; every statement at Debug with LogQueries.
func TestQueryLogging(t *testing.T) {
	var buf bytes.Buffer
	url := suitedb.URL(t)
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := openHandle(t, url, func(c *db.Config) { c.Logger, c.SlowQuery = logger, 50*time.Millisecond })
	tenant := cuid.New()
	ctx := privacy.WithTenant(context.Background(), tenant)
	buf.Reset()
	const secret = "needle-arg-91c2"
	if _, err := h.SQL.ExecContext(ctx, `SELECT pg_sleep(0.1), $1::text`, secret); err != nil {
		t.Fatal(err)
	}
	if _, err := h.User.Query().Count(ctx); err != nil { // fast: not logged
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want only the slow statement:\n%s", len(lines), buf.String())
	}
	var rec struct {
		Level, Msg, SQL, Tenant string
		DurationMS              float64 `json:"duration_ms"`
		Rows                    int64
	}
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Level != "WARN" || rec.Msg != "slow query" || !strings.Contains(rec.SQL, "pg_sleep") || rec.Tenant != tenant ||
		rec.DurationMS < 50 || rec.Rows != 1 || strings.Contains(lines[0], secret) {
		t.Fatalf("slow query record: %s", lines[0])
	}

	h2 := openHandle(t, url, func(c *db.Config) { c.Logger, c.LogQueries = logger, true })
	buf.Reset()
	if _, err := h2.User.Query().Count(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"level":"DEBUG","msg":"query"`) || !strings.Contains(buf.String(), `FROM \"users\"`) {
		t.Fatalf("LogQueries: %s", buf.String())
	}
}
