package privacy_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/leadmetrics/db/ent"
	"github.com/leadmetrics/db/internal/runtime/scope"
	"github.com/leadmetrics/db/internal/testing/tenancytest"
	"github.com/leadmetrics/db/privacy"
)

// mrow is the model of one row: whose it is and its state.
type mrow struct {
	typ, id, tenant, ref string
	deleted              bool
	updatedAt            time.Time
}

// isolationModel is what each tenant owns, kept beside the database.
type isolationModel struct {
	env  *tenancytest.Env
	rows map[string]*mrow
	// creatable: a tenant viewer may create rows of the type (learned once
	// at setup: system-written entities answer ErrSystemOnly).
	creatable map[string]bool
}

func (m *isolationModel) refresh(t *testing.T, typ, id string) {
	t.Helper()
	n, _ := scope.Lookup(typ)
	r := &mrow{typ: typ, id: id}
	var del *time.Time
	err := m.env.DB.QueryRow(fmt.Sprintf(`SELECT tenant_id, ref_id, deleted_at, updated_at FROM %q WHERE id = $1`, n.Table), id).
		Scan(&r.tenant, &r.ref, &del, &r.updatedAt)
	if err != nil {
		t.Fatalf("refresh %s %s: %v", typ, id, err)
	}
	r.deleted = del != nil
	m.rows[id] = r
}

// adopt adds to the model every row it does not know: rows the fixture
// wrote with raw SQL (required parents included). Never called after an
// operation under test.
func (m *isolationModel) adopt(t *testing.T) {
	t.Helper()
	for _, n := range scope.Nodes() {
		rows, err := m.env.DB.Query(fmt.Sprintf(`SELECT id FROM %q`, n.Table))
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for rows.Next() {
			var id string
			rows.Scan(&id)
			if _, ok := m.rows[id]; !ok {
				ids = append(ids, id)
			}
		}
		rows.Close()
		for _, id := range ids {
			m.refresh(t, n.Type, id)
		}
	}
}

// verify compares every row of every table with the model (raw SQL).
func (m *isolationModel) verify(t *testing.T, step int) {
	t.Helper()
	seen := 0
	for _, n := range scope.Nodes() {
		rows, err := m.env.DB.Query(fmt.Sprintf(`SELECT id, tenant_id, deleted_at IS NOT NULL, updated_at FROM %q`, n.Table))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, tenant string
			var deleted bool
			var at time.Time
			if err := rows.Scan(&id, &tenant, &deleted, &at); err != nil {
				t.Fatal(err)
			}
			seen++
			r, ok := m.rows[id]
			switch {
			case !ok:
				t.Fatalf("step %d: unexpected %s row %s of %s", step, n.Type, id, tenant)
			case r.tenant != tenant || r.deleted != deleted || !r.updatedAt.Equal(at):
				t.Fatalf("step %d: %s %s changed behind the model: %+v, db tenant=%s deleted=%v at=%v", step, n.Type, id, *r, tenant, deleted, at)
			}
		}
		rows.Close()
	}
	if seen != len(m.rows) {
		t.Fatalf("step %d: %d rows in the database, model has %d", step, seen, len(m.rows))
	}
	if bad := m.env.CrossTenantLinks(); len(bad) > 0 {
		t.Fatalf("step %d: cross-tenant links stored: %v", step, bad)
	}
}

// visible is what viewer tenant must read of typ.
func (m *isolationModel) visible(typ, tenant string) []string {
	n, _ := scope.Lookup(typ)
	owner := tenant
	if n.Kind == scope.KindShared {
		owner = scope.PlatformTenantID
	}
	var ids []string
	for _, r := range m.rows {
		if r.typ == typ && r.tenant == owner && !r.deleted {
			ids = append(ids, r.id)
		}
	}
	sort.Strings(ids)
	return ids
}

func (m *isolationModel) pick(rng *rand.Rand, typ string) *mrow {
	var all []*mrow
	for _, r := range m.rows {
		if r.typ == typ {
			all = append(all, r)
		}
	}
	if len(all) == 0 {
		return nil
	}
	sort.Slice(all, func(i, j int) bool { return all[i].id < all[j].id })
	return all[rng.IntN(len(all))]
}

// createFields returns valid fields for a create of typ by tenant, its
// required edges pointing at the tenant's own live rows.
func (m *isolationModel) createFields(t *testing.T, rng *rand.Rand, typ, tenant string) map[string]any {
	f := tenancytest.RequiredFields(typ)
	for col, target := range tenancytest.RequiredEdges(typ) {
		ids := m.visible(target, tenant)
		if len(ids) == 0 {
			ids = []string{m.env.Insert(target, tenant, nil)}
			m.adopt(t)
		}
		f[col] = ids[rng.IntN(len(ids))]
	}
	return f
}

// A seeded random walk of creates, updates, upserts, deletes and reads by
// three tenants over every entity; after each step the outcome matches the
// model, and periodically every row of the database is compared with it.
// ISOLATION_SEED and ISOLATION_STEPS reproduce or lengthen a run.
func TestRandomizedIsolation(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("ISOLATION_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	steps := 3000
	if s := os.Getenv("ISOLATION_STEPS"); s != "" {
		steps, _ = strconv.Atoi(s)
	}
	if testing.Short() {
		steps = 300
	}
	t.Logf("ISOLATION_SEED=%d ISOLATION_STEPS=%d", seed, steps)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	env := tenancytest.New(t, 3)
	m := &isolationModel{env: env, rows: map[string]*mrow{}, creatable: map[string]bool{}}
	var types []string
	for _, n := range scope.Nodes() {
		types = append(types, n.Type)
	}
	for _, tn := range env.Tenants {
		m.refresh(t, "Tenant", tn)
		for _, typ := range types {
			n, _ := scope.Lookup(typ)
			if n.Kind == scope.KindTenant || (typ == "CreditBalance" && m.visible(typ, tn) != nil) {
				continue
			}
			env.Insert(typ, tn, nil)
		}
	}
	m.adopt(t)
	ctx0 := privacy.WithTenant(context.Background(), env.Tenants[0])
	for _, typ := range types {
		id, err := env.Create(ctx0, typ, m.createFields(t, rng, typ, env.Tenants[0]))
		switch {
		case err == nil:
			m.creatable[typ] = true
			m.refresh(t, typ, id)
		case errors.Is(err, privacy.ErrSystemOnly):
		default:
			t.Fatalf("probe create %s: %v", typ, err)
		}
	}
	m.verify(t, 0)

	refs := []string{"r1", "r2", "r3", "r4"}
	ops := map[string]int{}
	defer func() { t.Logf("operations: %v; rows: %d", ops, len(m.rows)) }()
	for step := 1; step <= steps; step++ {
		tn := env.Tenants[rng.IntN(len(env.Tenants))]
		ctx := privacy.WithTenant(context.Background(), tn)
		typ := types[rng.IntN(len(types))]
		n, _ := scope.Lookup(typ)
		where := fmt.Sprintf("step %d (tenant %s, %s)", step, tn, typ)
		// expected error of a write that is refused whatever the target row
		var refused error
		switch {
		case n.Kind == scope.KindShared:
			refused = privacy.ErrSystemOnly
		case n.Immutable:
			refused = privacy.ErrImmutable
		case !m.creatable[typ] && n.Kind != scope.KindTenant:
			refused = privacy.ErrSystemOnly
		}
		op := rng.IntN(7)
		ops[[]string{"create", "create", "update", "delete", "upsert", "list", "get"}[op]]++
		switch op {
		case 0, 1: // create, sometimes with a foreign tenant_id
			f := m.createFields(t, rng, typ, tn)
			attack := rng.IntN(4) == 0
			if attack {
				f["tenant_id"] = env.Tenants[(slices.Index(env.Tenants, tn)+1)%len(env.Tenants)]
			}
			id, err := env.Create(ctx, typ, f)
			switch {
			case !m.creatable[typ]:
				if !errors.Is(err, privacy.ErrSystemOnly) && !(attack && errors.Is(err, privacy.ErrTenantMismatch)) {
					t.Fatalf("%s: create by tenant: %v", where, err)
				}
			case attack:
				if !errors.Is(err, privacy.ErrTenantMismatch) {
					t.Fatalf("%s: create into another tenant: %v", where, err)
				}
			case err != nil:
				t.Fatalf("%s: create: %v", where, err)
			default:
				m.refresh(t, typ, id)
				if m.rows[id].tenant != tn {
					t.Fatalf("%s: created row belongs to %s", where, m.rows[id].tenant)
				}
			}
		case 2: // update one row of any tenant
			r := m.pick(rng, typ)
			if r == nil {
				continue
			}
			at := time.Now().Truncate(time.Microsecond)
			err := env.UpdateOne(ctx, typ, r.id, map[string]any{"updated_at": at})
			mine := r.tenant == tn && !r.deleted
			switch {
			case refused != nil && !(n.Kind == scope.KindTenant):
				if !errors.Is(err, refused) {
					t.Fatalf("%s: update: %v, want %v", where, err, refused)
				}
			case mine:
				if err != nil {
					t.Fatalf("%s: update own row: %v", where, err)
				}
				m.refresh(t, typ, r.id)
			default:
				if !ent.IsNotFound(err) {
					t.Fatalf("%s: update of another tenant's or a deleted row: %v", where, err)
				}
			}
		case 3: // delete one row of any tenant
			r := m.pick(rng, typ)
			if r == nil {
				continue
			}
			err := env.DeleteOne(ctx, typ, r.id)
			mine := r.tenant == tn && !r.deleted
			switch {
			case n.Kind == scope.KindTenant:
				if !errors.Is(err, privacy.ErrSystemOnly) {
					t.Fatalf("%s: delete tenant: %v", where, err)
				}
			case refused != nil:
				if !errors.Is(err, refused) {
					t.Fatalf("%s: delete: %v, want %v", where, err, refused)
				}
			case mine:
				if err != nil {
					t.Fatalf("%s: delete own row: %v", where, err)
				}
				m.refresh(t, typ, r.id)
				if !m.rows[r.id].deleted {
					t.Fatalf("%s: delete did not soft delete", where)
				}
			default:
				if !ent.IsNotFound(err) {
					t.Fatalf("%s: delete of another tenant's or a deleted row: %v", where, err)
				}
			}
		case 4: // upsert on a small pool of ref ids shared by all tenants
			if !m.creatable[typ] || n.Kind == scope.KindTenant {
				continue
			}
			f := m.createFields(t, rng, typ, tn)
			ref := refs[rng.IntN(len(refs))]
			f["ref_id"] = ref
			var existing *mrow
			for _, r := range m.rows {
				if r.typ == typ && r.tenant == tn && r.ref == ref {
					existing = r
				}
			}
			id, err := env.Upsert(ctx, typ, f)
			switch {
			case n.Immutable && existing != nil:
				// an idempotent insert: the existing row, unchanged (verify checks)
				if err != nil || id != existing.id {
					t.Fatalf("%s: upsert over an immutable row: %s %v", where, id, err)
				}
			case err != nil:
				t.Fatalf("%s: upsert: %v", where, err)
			case existing != nil && id != existing.id:
				t.Fatalf("%s: upsert made %s, want own row %s", where, id, existing.id)
			default:
				m.refresh(t, typ, id)
				if r := m.rows[id]; r.tenant != tn || r.deleted {
					t.Fatalf("%s: upsert result %+v", where, *r)
				}
			}
		case 5: // list
			got, err := env.VisibleIDs(ctx, typ)
			if err != nil {
				t.Fatalf("%s: list: %v", where, err)
			}
			sort.Strings(got)
			if want := m.visible(typ, tn); !slices.Equal(got, want) {
				t.Fatalf("%s: list = %v, model %v", where, got, want)
			}
		case 6: // read one row of any tenant by id
			r := m.pick(rng, typ)
			if r == nil {
				continue
			}
			q := env.Where(env.Query(typ), func(s *sqlSelector) { s.Where(sqlEQ(s.C("id"), r.id)) })
			got, err := tenancytest.IDs(ctx, q)
			owner := tn
			if n.Kind == scope.KindShared {
				owner = scope.PlatformTenantID
			}
			if want := r.tenant == owner && !r.deleted; err != nil || (len(got) == 1) != want {
				t.Fatalf("%s: read %s of %s: %v %v, want visible=%v", where, r.id, r.tenant, got, err, want)
			}
		}
		if step%250 == 0 || step == steps {
			m.verify(t, step)
		}
	}
}

type sqlSelector = entsql.Selector

var sqlEQ = entsql.EQ
