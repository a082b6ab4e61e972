package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/leadmetrics/db/ent/creditledgerentry"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/ledger"
	"github.com/leadmetrics/db/privacy"
)

// TestMain drops the examples' database after the run (examples have no
// *testing.T to do it).
func TestMain(m *testing.M) { os.Exit(suitedb.RunExamples(m)) }

// Postings are exact and idempotent: the system mints credits for a named
// tenant, a key posted again changes nothing, a debit that would overdraw
// (other than usage already incurred) is refused with nothing written, and
// the tenant spends its own credits.
func ExampleLedger_Post() {
	h := suitedb.ExampleHandle() // a service: db.Open
	l := ledger.New(h.Client, h.SQL)
	ctx := context.Background()
	tenantID := suitedb.ExampleTenant("Acme")

	topup := ledger.Posting{TenantID: tenantID, Kind: creditledgerentry.KindTopup, Amount: 1000,
		IdempotencyKey: "order-42", Description: "credit pack"}
	if _, err := l.Post(privacy.WithSystem(ctx), topup); err != nil {
		fmt.Println(err)
		return
	}
	again, _ := l.Post(privacy.WithSystem(ctx), topup) // a retry after a lost reply
	fmt.Println("replayed:", again.Replayed)

	_, err := l.Post(privacy.WithSystem(ctx), ledger.Posting{TenantID: tenantID, Kind: creditledgerentry.KindAdjustment,
		Amount: -1500, IdempotencyKey: "ticket-7", Description: "correction"})
	fmt.Println("overdraft refused:", errors.Is(err, ledger.ErrInsufficientCredits))

	acme := privacy.WithTenant(ctx, tenantID)
	if ok, _ := l.CanSpend(acme, 400); !ok { // new work is checked up front
		return
	}
	if _, err := l.Post(acme, ledger.Posting{Kind: creditledgerentry.KindUsage, Amount: -400, IdempotencyKey: "job-8"}); err != nil {
		fmt.Println(err)
		return
	}
	balance, _ := l.Balance(acme)
	fmt.Println("balance:", balance)
	// Output:
	// replayed: true
	// overdraft refused: true
	// balance: 600
}
