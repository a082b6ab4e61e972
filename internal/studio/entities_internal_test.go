package studio

import (
	"testing"

	"github.com/leadmetrics/db/ent/migrate"
)

// TestEveryTableIsBrowsable: a new entity of ent/schema is listed here too
// (entities), with its sealed columns known, and the ledger stays
// read-only.
func TestEveryTableIsBrowsable(t *testing.T) {
	for _, tb := range migrate.Tables {
		if entities[tb.Name] == nil {
			t.Errorf("table %s has no studio entity: add it to entities (entities.go)", tb.Name)
		}
	}
	if !entities["credentials"].sensitive["secret_ciphertext"] || entities["credentials"].editable("secret_ciphertext") {
		t.Error("the credential's sealed secret is not known as sensitive")
	}
	for _, ro := range []string{"credit_ledger_entries", "credit_balances", "audit_logs"} {
		if entities[ro].ReadOnly == "" {
			t.Errorf("%s is editable", ro)
		}
	}
}
