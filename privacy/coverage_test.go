package privacy_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/leadmetrics/db/ent/migrate"
	"github.com/leadmetrics/db/internal/runtime/scope"
	"github.com/leadmetrics/db/internal/testing/tenancytest"
	"github.com/leadmetrics/db/privacy"
)

// exemptions lists, per entity, the protections it may lack and why. An
// entity missing a protection without an entry here fails the coverage test.
var exemptions = map[string]map[string]string{
	"AuditLog":          {"soft delete": "append-only: update and delete are refused to everyone (privacy.AppendOnly)"},
	"CreditLedgerEntry": {"soft delete": "append-only ledger: never deleted, soft or hard (privacy.AppendOnly)"},
}

// Every table of the generated schema (ent/migrate.Tables) must carry the
// tenant policy and read filter, and soft delete, unless exempted above; the
// behaviour is checked on the database, not only the annotations.
func TestEveryEntityProtected(t *testing.T) {
	env := tenancytest.New(t, 2)
	a, b := env.Tenants[0], env.Tenants[1]
	ctxB := privacy.WithTenant(context.Background(), b)
	seen := map[string]bool{}
	for _, tbl := range migrate.Tables {
		n, ok := scope.LookupTable(tbl.Name)
		if !ok {
			t.Errorf("table %s is not in the tenancy registry (regenerate ent)", tbl.Name)
			continue
		}
		seen[n.Type] = true
		exempt := exemptions[n.Type]
		t.Run(n.Type, func(t *testing.T) {
			if n.Kind == "" {
				if _, ok := exempt["tenancy"]; !ok {
					t.Fatalf("%s has no tenancy mixin (privacy.Owned or another constructor) and no exemption", n.Type)
				}
				return
			}
			// No viewer: refused.
			if _, err := env.VisibleIDs(context.Background(), n.Type); !errors.Is(err, privacy.ErrNoViewer) {
				t.Errorf("query without viewer: %v", err)
			}
			if _, err := env.DeleteWhereID(context.Background(), n.Type, "x"); !errors.Is(err, privacy.ErrNoViewer) {
				t.Errorf("delete without viewer: %v", err)
			}
			// Another tenant's row is invisible (a shared row is visible).
			rowA := a
			if n.Kind != scope.KindTenant {
				rowA = env.Insert(n.Type, a, nil)
			}
			ids, err := env.VisibleIDs(ctxB, n.Type)
			if err != nil {
				t.Fatal(err)
			}
			if visible := slices.Contains(ids, rowA); visible != (n.Kind == scope.KindShared) {
				t.Errorf("B sees A's row: %v (kind %s)", visible, n.Kind)
			}
			// Soft delete.
			if !n.SoftDelete {
				if _, ok := exempt["soft delete"]; !ok {
					t.Fatalf("%s has no soft delete (privacy.SoftDeleteMixin) and no exemption", n.Type)
				}
				return
			}
			rowB := b
			if n.Kind != scope.KindTenant {
				rowB = env.Insert(n.Type, b, nil)
			}
			q := fmt.Sprintf(`UPDATE %q SET deleted_at = now() WHERE id = $1`, n.Table)
			if _, err := env.DB.Exec(q, rowB); err != nil {
				t.Fatal(err)
			}
			ids, err = env.VisibleIDs(privacy.WithSystem(context.Background()), n.Type)
			if err != nil || slices.Contains(ids, rowB) {
				t.Errorf("a deleted row is visible: %v", err)
			}
			ids, err = env.VisibleIDs(privacy.WithDeleted(privacy.WithSystem(context.Background())), n.Type)
			if err != nil || !slices.Contains(ids, rowB) {
				t.Errorf("WithDeleted hides a deleted row: %v", err)
			}
			env.DB.Exec(fmt.Sprintf(`UPDATE %q SET deleted_at = NULL WHERE id = $1`, n.Table), rowB)
		})
	}
	for typ := range exemptions {
		if !seen[typ] {
			t.Errorf("exemption for unknown entity %s", typ)
		}
	}
}
