package db

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/leadmetrics/db/privacy"
)

// TestInstrumentationOffInstallsNothing: with nothing configured the pgx
// connection has no tracer, so the statement path is pgx's own.
func TestInstrumentationOffInstallsNothing(t *testing.T) {
	pcfg, err := pgxpool.ParseConfig(LocalURL)
	if err != nil {
		t.Fatal(err)
	}
	instrument(DefaultConfig(), pcfg)
	if pcfg.ConnConfig.Tracer != nil {
		t.Fatalf("tracer %T installed with instrumentation off", pcfg.ConnConfig.Tracer)
	}
	cfg := DefaultConfig()
	cfg.SlowQuery = time.Second
	instrument(cfg, pcfg)
	if pcfg.ConnConfig.Tracer == nil {
		t.Fatal("no tracer with a slow-query threshold")
	}
}

// BenchmarkTracerCPU is the client CPU each instrumentation adds per
// statement: the tracer's start and end callbacks, without the round trip
// (which the wall-clock benchmark cannot separate from the machine's noise).
func BenchmarkTracerCPU(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, v := range []struct {
		name string
		set  func(*Config)
	}{
		{"off", func(*Config) {}},
		{"slowlog", func(c *Config) { c.SlowQuery, c.Logger = time.Hour, quiet }},
		{"metrics", func(c *Config) { c.MeterProvider = mp }},
		{"traces", func(c *Config) { c.TracerProvider = tp }},
		{"traces+metrics+slowlog", func(c *Config) { c.TracerProvider, c.MeterProvider, c.SlowQuery, c.Logger = tp, mp, time.Hour, quiet }},
	} {
		b.Run(v.name, func(b *testing.B) {
			pcfg, err := pgxpool.ParseConfig(LocalURL)
			if err != nil {
				b.Fatal(err)
			}
			cfg := DefaultConfig()
			v.set(&cfg)
			instrument(cfg, pcfg)
			tracer := pcfg.ConnConfig.Tracer
			ctx, span := tp.Tracer("bench").Start(privacy.WithTenant(context.Background(), "tenant-1"), "request")
			defer span.End()
			start := pgx.TraceQueryStartData{SQL: `SELECT "users"."id" FROM "users" WHERE "users"."tenant_id" = $1`, Args: []any{"tenant-1"}}
			end := pgx.TraceQueryEndData{CommandTag: pgconn.NewCommandTag("SELECT 5")}
			b.ReportAllocs()
			for b.Loop() {
				if tracer == nil {
					continue
				}
				qctx := tracer.TraceQueryStart(ctx, nil, start)
				tracer.TraceQueryEnd(qctx, nil, end)
			}
		})
	}
}
