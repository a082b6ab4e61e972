package billing

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// webhookEvents counts webhook deliveries through the global OpenTelemetry
// MeterProvider (a no-op until the service installs one).
var webhookEvents, _ = otel.Meter("github.com/leadmetrics/db/billing").Int64Counter("leadmetrics.billing.webhook_events",
	metric.WithDescription("Provider webhook deliveries by provider and outcome: processed, ignored, failed, duplicate, rejected (error, nothing stored)."))

// observeEvent records the outcome of one HandleEvent call.
func observeEvent(ctx context.Context, ev Event, out *Outcome, err error) {
	outcome := "rejected"
	switch {
	case out != nil && out.Duplicate:
		outcome = "duplicate"
	case out != nil:
		outcome = string(out.Status)
	}
	webhookEvents.Add(ctx, 1, metric.WithAttributes(attribute.String("provider", string(ev.Provider)), attribute.String("outcome", outcome)))
}
