package citus_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/ent/migrate"
	"github.com/leadmetrics/db/internal/migrate/tenantkeys"
	"github.com/leadmetrics/db/internal/systemtest"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/privacy"
)

// TestForeignKeysCannotCrossTenants links, with raw SQL (no hooks), a row of
// one tenant to a row of another through every foreign key between
// tenant-owned tables of the Ent schema: the database must refuse each
// (23503), and accept the same link within one tenant.
func TestForeignKeysCannotCrossTenants(t *testing.T) {
	sqlDB := suitedb.DB(t)
	tables := tenantkeys.Apply(migrate.Tables)
	n := 0
	// insert writes a row of tb for tenant, creating the rows its NOT NULL
	// foreign keys need in the same tenant, and returns its id.
	var insert func(tb *schema.Table, tenant string) string
	insert = func(tb *schema.Table, tenant string) string {
		n++
		id := fmt.Sprintf("k%d", n)
		var cols, vals []string
		var args []any
		add := func(c string, v any) {
			cols = append(cols, pgx.Identifier{c}.Sanitize())
			args = append(args, v)
			vals = append(vals, fmt.Sprintf("$%d", len(args)))
		}
		for _, c := range tb.Columns {
			switch {
			case c.Name == "id" || c.Name == "ref_id":
				add(c.Name, id)
			case c.Name == "tenant_id":
				add(c.Name, tenant)
			case c.Nullable || c.Default != nil:
			case refOf(tb, c) != nil:
				add(c.Name, insert(refOf(tb, c), tenant))
			default:
				add(c.Name, sampleValue(c, n))
			}
		}
		q := fmt.Sprintf(`INSERT INTO %q (%s) VALUES (%s)`, tb.Name, strings.Join(cols, ", "), strings.Join(vals, ", "))
		if _, err := sqlDB.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return id
	}
	checked := 0
	for _, tb := range tables {
		for _, fk := range tb.ForeignKeys {
			if !tenantkeys.Owned(tb) || !tenantkeys.Owned(fk.RefTable) {
				continue
			}
			col := fk.Columns[len(fk.Columns)-1].Name
			if len(fk.Columns) != 2 || fk.Columns[0].Name != tenantkeys.Column {
				t.Errorf("%s.%s: foreign key %v does not lead with tenant_id", tb.Name, col, fk.Columns)
				continue
			}
			child := insert(tb, "tenant-b")
			link := fmt.Sprintf(`UPDATE %q SET %q = $1 WHERE id = $2`, tb.Name, col)
			_, err := sqlDB.Exec(link, insert(fk.RefTable, "tenant-a"), child)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "23503" {
				t.Errorf("%s.%s -> %s of another tenant: %v, want 23503", tb.Name, col, fk.RefTable.Name, err)
			}
			if _, err := sqlDB.Exec(link, insert(fk.RefTable, "tenant-b"), child); err != nil {
				t.Errorf("%s.%s -> %s of the same tenant: %v", tb.Name, col, fk.RefTable.Name, err)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no foreign key between tenant-owned tables")
	}
}

// refOf returns the table c references, if c is a foreign key column.
func refOf(tb *schema.Table, c *schema.Column) *schema.Table {
	for _, fk := range tb.ForeignKeys {
		if fk.Columns[len(fk.Columns)-1] == c {
			return fk.RefTable
		}
	}
	return nil
}

// sampleValue is a value of c's type that passes the schema's checks;
// strings and numbers are unique (provider ids, ledger sequence numbers).
func sampleValue(c *schema.Column, unique int) any {
	switch c.Type {
	case field.TypeEnum:
		return c.Enums[0]
	case field.TypeBool:
		return false
	case field.TypeTime:
		return "2026-01-01T00:00:00Z"
	case field.TypeJSON:
		return "{}"
	case field.TypeBytes:
		return []byte{1}
	case field.TypeString:
		if strings.HasPrefix(c.SchemaType["postgres"], "char(3)") {
			return "USD"
		}
		return fmt.Sprintf("v%d", unique)
	default:
		return unique
	}
}

var tenantParam = regexp.MustCompile(`"tenant_id" = \$(\d+)`)

// TestO2MEdgeWritesNameTheTenant: Ent writes an O2M edge by updating the
// other table's foreign key by id alone; the layer's writes (scope.CreateNode
// and its siblings) name the viewer's tenant in every such statement, so
// no edge write can reach another tenant's rows (and on Citus each routes to
// one shard, TestCitusTenantQueriesRouteToOneShard). Every UPDATE sent by
// the edge writes must carry tenant_id = the viewer's tenant, and the
// edges must end as written.
func TestO2MEdgeWritesNameTheTenant(t *testing.T) {
	traced, rec := openTraced(t, suitedb.URL(t))
	client := ent.NewClient(ent.Driver(entsql.OpenDB("postgres", traced)))
	tenant := cuid.New()
	suitedb.Tenants(t, traced, tenant)
	ctx := privacy.WithTenant(context.Background(), tenant)
	camp := client.Campaign.Create().SetName("c").SaveX(ctx)
	loose := client.Activity.Create().SetType("write").SetTitle("L").SaveX(ctx)
	rec.take()
	for _, w := range systemtest.O2MEdgeWrites(ctx, client, camp.ID, loose.ID) {
		t.Run(w.Table, func(t *testing.T) {
			if err := w.Run(); err != nil {
				t.Fatal(err)
			}
			updates := 0
			for _, s := range rec.take() {
				if !strings.HasPrefix(s.sql, "UPDATE") {
					continue
				}
				updates++
				m := tenantParam.FindStringSubmatch(s.sql)
				if m == nil {
					t.Errorf("update without the tenant: %s", s.sql)
					continue
				}
				if i, _ := strconv.Atoi(m[1]); i > len(s.args) || s.args[i-1] != tenant {
					t.Errorf("update names another tenant (%v): %s", s.args, s.sql)
				}
			}
			if updates == 0 {
				t.Fatal("no update recorded")
			}
		})
	}
	// Each write did what Ent's would: loose ended unlinked, and the bulk
	// create's campaign had it until the clear.
	if got := client.Activity.GetX(ctx, loose.ID); got.CampaignID != nil {
		t.Errorf("loose activity still in campaign %s", *got.CampaignID)
	}
}
