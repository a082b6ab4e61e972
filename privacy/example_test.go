package privacy_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/privacy"
)

// TestMain drops the examples' database after the run (examples have no
// *testing.T to do it).
func TestMain(m *testing.M) { os.Exit(suitedb.RunExamples(m)) }

// A tenant view: every query and mutation under WithTenant sees and writes
// only that tenant's rows; with no viewer nothing is read or written.
func ExampleWithTenant() {
	h := suitedb.ExampleHandle() // a service: db.Open
	ctx := context.Background()
	acme, globex := suitedb.ExampleTenant("Acme"), suitedb.ExampleTenant("Globex")

	asAcme := privacy.WithTenant(ctx, acme)
	// tenant_id comes from the viewer.
	h.Campaign.Create().SetRefID("spring").SetName("Spring sale").SaveX(asAcme)
	h.Campaign.Create().SetRefID("autumn").SetName("Autumn sale").SaveX(privacy.WithTenant(ctx, globex))

	for _, c := range h.Campaign.Query().AllX(asAcme) {
		fmt.Println("Acme sees", c.Name)
	}
	_, err := h.Campaign.Query().All(ctx)
	fmt.Println("no viewer:", errors.Is(err, privacy.ErrNoViewer))
	// Output:
	// Acme sees Spring sale
	// no viewer: true
}
