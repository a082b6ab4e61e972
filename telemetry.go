package db

import (
	"context"
	"log/slog"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/leadmetrics/db/internal/dbconfig"
	"github.com/leadmetrics/db/privacy"
)

// TenantAttr is the span attribute carrying the viewer's tenant id
// ("system" for the system viewer).
const TenantAttr = attribute.Key("leadmetrics.tenant_id")

// instrument installs the configured tracers on the pgx pool config. With
// everything off it installs nothing: the statement path is pgx's own.
func instrument(c Config, pcfg *pgxpool.Config) {
	var tracers []pgx.QueryTracer
	if dbconfig.TracingOn(c) || dbconfig.MetricsOn(c) {
		opts := []otelpgx.Option{otelpgx.WithDisableConnectionDetailsInAttributes()}
		tp := c.TracerProvider
		if tp == nil {
			tp = otel.GetTracerProvider()
		}
		if !dbconfig.TracingOn(c) {
			tp = tracenoop.NewTracerProvider()
		}
		opts = append(opts, otelpgx.WithTracerProvider(tp))
		mp := meterProvider(c)
		opts = append(opts, otelpgx.WithMeterProvider(mp))
		tracers = append(tracers, tenantTracer{otelpgx.NewTracer(opts...)})
	}
	if dbconfig.LogOn(c) {
		tracers = append(tracers, &queryLogger{cfg: c})
	}
	switch len(tracers) {
	case 0:
	case 1:
		pcfg.ConnConfig.Tracer = tracers[0]
	default:
		pcfg.ConnConfig.Tracer = multitracer.New(tracers...)
	}
}

func meterProvider(c Config) metric.MeterProvider {
	switch {
	case c.MeterProvider != nil:
		return c.MeterProvider
	case c.Metrics:
		return otel.GetMeterProvider()
	}
	return metricnoop.NewMeterProvider()
}

// recordPoolStats exports the pool's gauges and counters (in use, idle,
// waits, wait time, ...) when metrics are on.
func recordPoolStats(c Config, pool *pgxpool.Pool) error {
	if !dbconfig.MetricsOn(c) {
		return nil
	}
	return otelpgx.RecordStats(pool, otelpgx.WithStatsMeterProvider(meterProvider(c)))
}

// tenantTracer is otelpgx's tracer plus the tenant of the viewer on every
// statement span.
type tenantTracer struct{ *otelpgx.Tracer }

func (t tenantTracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	ctx = t.Tracer.TraceQueryStart(ctx, conn, data)
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(TenantAttr.String(tenantOf(ctx)))
	}
	return ctx
}

func tenantOf(ctx context.Context) string {
	v, ok := privacy.FromContext(ctx)
	switch {
	case !ok:
		return ""
	case v.System:
		return "system"
	}
	return v.TenantID
}

// queryLogger logs statements through log/slog: the statement text (never
// its arguments), tenant, duration and rows; slow ones at Warn, the rest at
// Debug when LogQueries is on.
type queryLogger struct{ cfg Config }

type queryStartKey struct{}

type queryStart struct {
	sql string
	at  time.Time
}

func (l *queryLogger) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, queryStartKey{}, queryStart{data.SQL, time.Now()})
}

func (l *queryLogger) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	st, ok := ctx.Value(queryStartKey{}).(queryStart)
	if !ok {
		return
	}
	d := time.Since(st.at)
	level, msg := slog.LevelDebug, "query"
	switch {
	case l.cfg.SlowQuery > 0 && d >= l.cfg.SlowQuery:
		level, msg = slog.LevelWarn, "slow query"
	case !l.cfg.LogQueries:
		return
	}
	logger := l.cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if !logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("sql", st.sql), slog.String("tenant", tenantOf(ctx)),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000), slog.Int64("rows", data.CommandTag.RowsAffected()),
	}
	if data.Err != nil {
		attrs = append(attrs, slog.String("error", data.Err.Error()))
	}
	logger.LogAttrs(ctx, level, msg, attrs...)
}
