package schema_test

import (
	"context"
	"testing"

	"github.com/leadmetrics/db/cuid"
	"github.com/leadmetrics/db/ent/user"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/privacy"
)

// TestEveryTableHasBaseColumns introspects the migrated database, so a new
// entity created without the base mixin fails here.
func TestEveryTableHasBaseColumns(t *testing.T) {
	sqlDB := suitedb.DB(t)
	want := map[string]string{
		"id": "character varying", "ref_id": "character varying", "tenant_id": "character varying",
		"created_at": "timestamp with time zone", "updated_at": "timestamp with time zone",
		"deleted_at": "timestamp with time zone",
	}
	tables := suitedb.Tables(t, sqlDB)
	if len(tables) != 19 {
		t.Fatalf("%d tables, want the 19 entities: %v", len(tables), tables)
	}
	for _, table := range tables {
		cols := map[string]string{}
		nullable := map[string]string{}
		r, err := sqlDB.Query(`SELECT column_name, data_type, is_nullable FROM information_schema.columns
			WHERE table_schema = 'public' AND table_name = $1`, table)
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var c, typ, null string
			r.Scan(&c, &typ, &null)
			cols[c], nullable[c] = typ, null
		}
		r.Close()
		for c, typ := range want {
			if cols[c] != typ {
				t.Errorf("%s.%s: type %q, want %q", table, c, cols[c], typ)
			}
			if wantNull := map[bool]string{true: "YES", false: "NO"}[c == "deleted_at"]; nullable[c] != wantNull {
				t.Errorf("%s.%s: nullable %s, want %s", table, c, nullable[c], wantNull)
			}
		}
		var unique bool
		err = sqlDB.QueryRow(`SELECT EXISTS (
			SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
			WHERE c.relname = $1 AND i.indisunique AND i.indpred IS NULL
			  AND (SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
			       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum) = ARRAY['tenant_id', 'ref_id']::name[])`,
			table).Scan(&unique)
		if err != nil {
			t.Fatal(err)
		}
		if !unique {
			t.Errorf("%s: no total unique index on (tenant_id, ref_id)", table)
		}
	}
}

// TestUpsertConflictHandling is the seed's "Prisma upsert works for
// conflict handling": the same ref_id twice leaves one row, updated.
func TestUpsertConflictHandling(t *testing.T) {
	client, sqlDB := suitedb.Client(t)
	tid := cuid.New()
	suitedb.Tenants(t, sqlDB, tid)
	ctx := privacy.WithTenant(context.Background(), tid)
	upsert := func(name string) string {
		id, err := client.User.Create().SetTenantID(tid).SetRefID("crm-42").SetEmail("Ada@Example.com").SetName(name).
			OnConflictColumns(user.FieldTenantID, user.FieldRefID).UpdateNewValues().ID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	first := upsert("Ada")
	second := upsert("Ada Lovelace")
	if first != second {
		t.Fatalf("upsert created a second row: %s then %s", first, second)
	}
	var n int
	var name, email string
	if err := sqlDB.QueryRow(`SELECT count(*), max(name), max(email) FROM users WHERE ref_id = 'crm-42'`).Scan(&n, &name, &email); err != nil {
		t.Fatal(err)
	}
	if n != 1 || name != "Ada Lovelace" || email != "ada@example.com" {
		t.Fatalf("after two upserts: %d rows, name %q, email %q", n, name, email)
	}
	var created, updated string
	sqlDB.QueryRow(`SELECT created_at::text, updated_at::text FROM users WHERE id = $1`, first).Scan(&created, &updated)
	if updated <= created {
		t.Errorf("updated_at %s not after created_at %s", updated, created)
	}
}
