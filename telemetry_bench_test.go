package db_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	db "github.com/leadmetrics/db"
	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/privacy"
)

// BenchmarkInstrumentation runs the same Ent query through handles that
// differ only in instrumentation, in turn inside one loop (the machine's
// drift hits them alike), and reports each one's time and its ratio to
// "off". Reproduce: see BENCHMARKS.md.
func BenchmarkInstrumentation(b *testing.B) {
	url := suitedb.URL(b)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample())) // records, exports nowhere
	variants := []struct {
		name string
		set  func(*db.Config)
	}{
		{"off", func(*db.Config) {}},
		{"slowlog", func(c *db.Config) { // threshold never reached: the cost of watching
			c.SlowQuery, c.Logger = time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil))
		}},
		{"metrics", func(c *db.Config) {
			c.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		}},
		{"traces", func(c *db.Config) { c.TracerProvider = tp }},
	}
	handles := make([]*db.DB, len(variants))
	for i, v := range variants {
		handles[i] = openHandle(b, url, func(c *db.Config) { c.PoolMax = 2; v.set(c) })
	}
	tenant := cuid.New()
	ctx, span := tp.Tracer("bench").Start(privacy.WithTenant(context.Background(), tenant), "request")
	defer span.End()
	spent := make([]time.Duration, len(variants))
	for b.Loop() {
		for i, h := range handles {
			start := time.Now()
			if _, err := h.User.Query().Count(ctx); err != nil {
				b.Fatal(err)
			}
			spent[i] += time.Since(start)
		}
	}
	for i, v := range variants {
		b.ReportMetric(float64(spent[i].Nanoseconds())/float64(b.N), v.name+"-ns/op")
		b.ReportMetric(float64(spent[i])/float64(spent[0]), v.name+"/off")
	}
	b.ReportMetric(0, "ns/op")
}
