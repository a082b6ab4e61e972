package scope

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"
)

// Kind says whom an entity's rows belong to.
type Kind string

// Kinds of entity.
const (
	KindOwned  Kind = "owned"  // rows belong to the tenant in tenant_id
	KindTenant Kind = "tenant" // the Tenant entity: tenant_id is the row's own id
	KindShared Kind = "shared" // platform rows (tenant_id = PlatformTenantID), readable by every tenant
)

// Annotation marks a schema as tenant-scoped; the code generator reads it
// (privacy's mixin returns it) to build the registry and edge filters.
type Annotation struct {
	Kind      Kind `json:"kind"`
	Immutable bool `json:"immutable,omitempty"`
}

// Name implements schema.Annotation.
func (Annotation) Name() string { return "Tenancy" }

// SoftDeleteAnnotation marks a schema whose deletes are soft (hooks' mixin
// returns it).
type SoftDeleteAnnotation struct {
	Enabled bool `json:"enabled"`
}

// Name implements schema.Annotation.
func (SoftDeleteAnnotation) Name() string { return "SoftDelete" }

// Edge is one edge of an entity, as the generated code describes it.
type Edge struct {
	Column string // the foreign-key column when this entity holds it, else ""
	Type   string // entity at the other end
	Table  string // its table
}

// Node is one entity, as the generated code describes it.
type Node struct {
	Type       string
	Table      string
	Kind       Kind // empty: the schema has no tenancy annotation (unprotected)
	SoftDelete bool
	Immutable  bool
	Edges      map[string]Edge
	// Columns maps each column of Table to its comparison class
	// (ColumnClasses): what caller SQL may name, and which columns compare
	// without a conversion that could fail.
	Columns map[string]string
	// Driver returns the driver (or transaction) a mutation of this type runs on.
	Driver func(ent.Mutation) dialect.Driver
	// ExecUpdate runs a prepared update mutation directly, without hooks or
	// policies (they already ran on the original operation), and returns the
	// number of rows changed.
	ExecUpdate func(context.Context, ent.Mutation) (int, error)
}

var (
	mu      sync.RWMutex
	byType  = map[string]*Node{}
	byTable = map[string]*Node{}
)

// Register adds nodes to the registry; the generated ent package calls it
// from init.
func Register(nodes ...*Node) {
	mu.Lock()
	defer mu.Unlock()
	for _, n := range nodes {
		byType[n.Type], byTable[n.Table] = n, n
	}
}

// Lookup returns the node of an entity type.
func Lookup(typ string) (*Node, bool) {
	mu.RLock()
	defer mu.RUnlock()
	n, ok := byType[typ]
	return n, ok
}

// LookupTable returns the node stored in table.
func LookupTable(table string) (*Node, bool) {
	mu.RLock()
	defer mu.RUnlock()
	n, ok := byTable[table]
	return n, ok
}

// Nodes returns every registered node, sorted by type.
func Nodes() []*Node {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]*Node, 0, len(byType))
	for _, n := range byType {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out
}

// isLink reports whether column is a foreign key this entity holds.
func (n *Node) isLink(column string) bool {
	for _, e := range n.Edges {
		if e.Column == column {
			return column != ""
		}
	}
	return false
}

// CreateTarget returns the table and the tenant of the row a create writes,
// as the stamping hook will set it (CreateOwner for ctx's viewer), for code
// that reads that row by its tenant key around the statement
// (db.UpsertByRef). ok is false for an entity without a tenant key.
func CreateTarget(ctx context.Context, m ent.Mutation) (table, tenant string, ok bool, err error) {
	n, ok := Lookup(m.Type())
	if !ok || n.Kind == "" {
		return "", "", false, nil
	}
	v, ok := FromContext(ctx)
	if !ok {
		return "", "", true, ErrNoViewer
	}
	tenant, err = CreateOwner(v, n.Kind, m)
	return n.Table, tenant, true, err
}

// CreateOwner returns the tenant a row created by m belongs to: the
// viewer's tenant for a tenant viewer; for the system viewer, the caller's
// explicit tenant_id (owned rows), the row's own id (tenants) or the
// platform (shared rows). A tenant_id set to another tenant is
// ErrTenantMismatch.
func CreateOwner(v Viewer, kind Kind, m ent.Mutation) (string, error) {
	given, hasGiven := m.Field(ColumnTenantID)
	givenID, _ := given.(string)
	var want string
	switch kind {
	case KindTenant:
		id, ok := m.(interface{ ID() (string, bool) }).ID()
		if !ok || id == "" {
			return "", fmt.Errorf("%w: tenant created without an id", ErrTenantMismatch)
		}
		want = id
	case KindShared:
		want = PlatformTenantID
	default:
		want = v.TenantID
		if v.System {
			if !hasGiven || givenID == "" {
				return "", fmt.Errorf("%w: the system viewer must set tenant_id on %s", ErrTenantMismatch, m.Type())
			}
			want = givenID
		}
	}
	if hasGiven && givenID != want {
		return "", fmt.Errorf("%w: create %s", ErrTenantMismatch, m.Type())
	}
	return want, nil
}

// ColumnClasses returns each column's comparison class: "text" for every
// character type (they compare as text, never failing), else the column's
// Ent type and PostgreSQL type. Two columns of one class compare without a
// conversion.
func ColumnClasses(cols []*schema.Column) map[string]string {
	m := make(map[string]string, len(cols))
	for _, c := range cols {
		class := c.Type.String() + " " + c.SchemaType["postgres"]
		if c.Type == field.TypeString || c.Type == field.TypeEnum {
			class = "text"
		}
		m[c.Name] = strings.TrimSpace(class)
	}
	return m
}
