// Package tenantkeys shapes the database keys of tenant-owned tables:
// primary key (tenant_id, id) and foreign keys (tenant_id, x_id) ->
// (tenant_id, id), which Ent cannot declare (no composite entity ids), and
// names how each table is placed on a Citus cluster.
package tenantkeys

import (
	"slices"

	"entgo.io/ent/dialect/sql/schema"
)

// Column is the tenant column every table carries (BaseMixin).
const Column = "tenant_id"

// Platform lists the tables whose tenant_id does not name an owning tenant:
// the plan and credit pack catalogs (rows of the platform) and tenants
// (tenant_id is the row's own id). They keep primary key (id), so
// tenant-owned rows can reference them by id alone.
var Platform = []string{"plans", "credit_packs", "tenants"}

// Reference lists the tables Citus copies to every node instead of
// distributing them (docs/SCALE.md): the small platform-wide tables, and the
// payment tables whose provider keys must stay unique across tenants
// (webhook deduplication, exactly once platform-wide).
var Reference = []string{"plans", "credit_packs", "tenants", "topup_orders", "billing_events"}

// Unenforced lists the references (table.column) that the database does
// not enforce with a foreign key, though Ent declares them as edges (the
// edge and its queries stay): the referencing row records history and must
// outlive the row it names. A ledger entry is kept forever and never
// rewritten, while the LLM call log it bills is purged after its retention
// period (package retention); the entry keeps the call's id. The layer
// still checks the link when the entry is written (the posting statement,
// privacy/crosstenant.go), and the unique (tenant_id, llm_call_id) index
// still bills a call once.
var Unenforced = []string{"credit_ledger_entries.llm_call_id"}

// Owned reports whether t is a tenant-owned table: it carries tenant_id and
// is not a platform table.
func Owned(t *schema.Table) bool {
	return !slices.Contains(Platform, t.Name) && column(t, Column) != nil
}

// Distributed reports whether Citus distributes t by tenant_id (every table
// carrying tenant_id that is not a reference table).
func Distributed(name string, hasTenantID bool) bool {
	return hasTenantID && !slices.Contains(Reference, name)
}

// Apply rewrites tables in place: every tenant-owned table gets primary key
// (tenant_id, id) and every foreign key between tenant-owned tables gains
// tenant_id on both sides, so a row can only reference a row of its own
// tenant. Such a key cannot SET NULL on delete (that would null tenant_id,
// and Citus refuses it on the distribution column): it becomes NO ACTION,
// so a hard delete (system only) of a referenced row fails until the
// references are cleared. The references of Unenforced get no foreign key.
// Apply is idempotent.
func Apply(tables []*schema.Table) []*schema.Table {
	for _, t := range tables {
		t.ForeignKeys = slices.DeleteFunc(t.ForeignKeys, func(fk *schema.ForeignKey) bool {
			c := fk.Columns[len(fk.Columns)-1]
			return slices.Contains(Unenforced, t.Name+"."+c.Name)
		})
		if !Owned(t) {
			continue
		}
		tid := column(t, Column)
		if len(t.PrimaryKey) == 1 && t.PrimaryKey[0].Name == "id" {
			// Ids stay unique across tenants on plain PostgreSQL: taken
			// ids are refused (input.IDConflict), upserts may target id,
			// the system viewer's lookups by id alone use it. Citus cannot
			// keep it on a distributed table: Distribute drops it there.
			t.Indexes = append(t.Indexes, &schema.Index{
				Name: IDKey(t.Name), Unique: true, Columns: []*schema.Column{t.PrimaryKey[0]},
			})
			t.PrimaryKey = []*schema.Column{tid, t.PrimaryKey[0]}
		}
		// A column unique on its own (an O2O edge) is unique per tenant:
		// ids are unique by construction, and Citus keeps only keys that
		// include the distribution column.
		for _, c := range t.Columns {
			if c.Unique && c.Name != "id" {
				c.Unique = false
				t.Indexes = append(t.Indexes, &schema.Index{
					Name: t.Name + "_" + Column + "_" + c.Name + "_key", Unique: true,
					Columns: []*schema.Column{tid, c},
				})
			}
		}
		for _, fk := range t.ForeignKeys {
			if !Owned(fk.RefTable) || len(fk.Columns) != 1 {
				continue
			}
			fk.Columns = []*schema.Column{tid, fk.Columns[0]}
			fk.RefColumns = []*schema.Column{column(fk.RefTable, Column), fk.RefColumns[0]}
			if fk.OnDelete == schema.SetNull || fk.OnDelete == "" {
				fk.OnDelete = schema.NoAction
			}
		}
	}
	return tables
}

// IDKey names the unique index on id alone of a tenant-owned table.
func IDKey(table string) string { return table + "_id_key" }

func column(t *schema.Table, name string) *schema.Column {
	for _, c := range t.Columns {
		if c.Name == name {
			return c
		}
	}
	return nil
}
