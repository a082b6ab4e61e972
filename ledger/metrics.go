package ledger

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/leadmetrics/db/ent/creditledgerentry"
	"github.com/leadmetrics/db/privacy"
)

// postings counts posting outcomes through the global OpenTelemetry
// MeterProvider (a no-op until the service installs one).
var postings, _ = otel.Meter("github.com/leadmetrics/db/ledger").Int64Counter("leadmetrics.ledger.postings",
	metric.WithDescription("Ledger postings by kind and outcome: posted, replayed (idempotent retry), refused (typed error), failed."))

// observe records the outcome of one posting.
func observe(ctx context.Context, kind creditledgerentry.Kind, e *Entry, err error) {
	outcome := "posted"
	switch {
	case err != nil && isRefusal(err):
		outcome = "refused"
	case err != nil:
		outcome = "failed"
	case e != nil && e.Replayed:
		outcome = "replayed"
	}
	postings.Add(ctx, 1, metric.WithAttributes(attribute.String("kind", string(kind)), attribute.String("outcome", outcome)))
}

// isRefusal reports the ledger's typed refusals (bad input, conflicts,
// insufficient credits, a missing viewer), as opposed to database failures.
func isRefusal(err error) bool {
	for _, target := range []error{ErrInsufficientCredits, ErrInvalidAmount, ErrIdempotencyConflict, ErrInvalidKind,
		ErrInvalidKey, ErrInvalidInput, ErrInvalidLink, privacy.ErrNoViewer} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
