package scope

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
)

// ErrUnsafeSQL is returned when SQL text that a caller's predicate, order
// or aggregate function produced is not in the grammar caller SQL may use
// (grammar.go: it would leave its clause, read a relation the layer cannot
// scope, lock rows, call a function outside the allowed list, ...).
var ErrUnsafeSQL = errors.New("privacy: caller SQL cannot be confined to the viewer's rows")

// fragmentKind says where a fragment goes, and so what it may contain.
type fragmentKind int

const (
	// fragPredicate is a WHERE conjunct (wrapped in parentheses).
	fragPredicate fragmentKind = iota
	// fragOrder is the list of ORDER BY terms.
	fragOrder
	// fragExpr is one select-list item (an aggregate, with its alias).
	fragExpr
)

// clause is where a fragment goes: its kind, the statement's entity (its
// table is the one relation in scope at the top level) and the viewer.
type clause struct {
	kind   fragmentKind
	node   *Node
	class  viewerClass
	tenant string // the viewer's tenant (tenant classes)
}

// clauseFor returns the clause of a fragment of kind in a statement over
// n run by ctx's viewer.
func clauseFor(ctx context.Context, n *Node, kind fragmentKind) clause {
	v, _ := FromContext(ctx)
	c := clause{kind: kind, node: n, class: classTenant, tenant: v.TenantID}
	switch {
	case v.System:
		c.class = classSystem
	case IncludeDeleted(ctx):
		c.class = classTenantDeleted
	}
	return c
}

// template is a vetted fragment as it runs: text segments with a
// placeholder between each two, each a caller argument (1-based) or the
// viewer's tenant (0). Templates are shared through the verdict cache.
type template struct {
	text     []string // len(text) == len(refs)+1
	refs     []int
	maxParam int32   // the highest caller placeholder
	patterns []int32 // caller arguments used as LIKE patterns
	src      string  // the fragment as it runs, placeholders as analyzed: its shape
}

// frozen is a template with the arguments of one execution. Rendering it
// runs no caller code, so what executes is exactly what was checked.
type frozen struct {
	t      *template
	args   []any
	tenant string
}

// build writes the fragment into b, numbering placeholders after b's own.
func (f *frozen) build(b *sql.Builder) {
	for i := range f.t.refs {
		b.WriteString(f.t.text[i])
		b.Argf("$"+strconv.Itoa(b.Total()+1), f.arg(i))
	}
	b.WriteString(f.t.text[len(f.t.refs)])
}

// arg is the value of the fragment's i-th placeholder.
func (f *frozen) arg(i int) any {
	if ref := f.t.refs[i]; ref > 0 {
		return f.args[ref-1]
	}
	return f.tenant
}

// shape identifies the text the fragment builds, whatever its arguments
// (the statement shapes of shape.go).
func (f *frozen) shape() string { return f.t.src }

// nargs is how many arguments the fragment adds to a statement.
func (f *frozen) nargs() int { return len(f.t.refs) }

// appendArgs appends the fragment's arguments in the order build numbers
// them.
func (f *frozen) appendArgs(dst []any) []any {
	for i := range f.t.refs {
		dst = append(dst, f.arg(i))
	}
	return dst
}

// predicate returns the fragment as a predicate, in parentheses.
func (f *frozen) predicate() *sql.Predicate {
	return sql.P(func(b *sql.Builder) { b.Wrap(f.build) })
}

// freezePredicate renders p on its own (placeholders from $1) and vets it.
func freezePredicate(p *sql.Predicate, c clause) (*frozen, error) {
	p.SetDialect(dialect.Postgres)
	p.SetTotal(0)
	text, args := p.Query()
	if err := p.Err(); err != nil {
		return nil, err
	}
	return vet(text, args, c)
}

// vet is the one entry point of caller SQL: text (with $n placeholders for
// args) is judged and rewritten by the grammar once per shape (the text,
// the clause and the viewer's class; arguments are not part of it), the
// verdict cached; each call checks only what depends on the arguments.
// What Ent's typed predicates render is recognized by the plain grammar
// (plain.go) without a parse.
func vet(text string, args []any, c clause) (*frozen, error) {
	t, err := verdicts.get(verdictKey{text: text, table: c.node.Table, kind: c.kind, class: c.class}, func() (*template, error) {
		return judge(text, c)
	})
	if err != nil {
		return nil, err
	}
	if int(t.maxParam) > len(args) {
		return nil, fmt.Errorf("%w: placeholder $%d without an argument in %q", ErrUnsafeSQL, t.maxParam, clip(text))
	}
	for _, p := range t.patterns {
		if s, ok := args[p-1].(string); !ok || !wellFormedPattern(s) {
			return nil, fmt.Errorf("%w: LIKE pattern $%d is not a string or ends with an escape in %q", ErrUnsafeSQL, p, clip(text))
		}
	}
	return &frozen{t: t, args: args, tenant: c.tenant}, nil
}

// judge returns the template of a shape: the plain grammar's when it is
// plain, the full grammar's otherwise.
func judge(text string, c clause) (*template, error) {
	if t, ok := plain(text, c.kind, c.node); ok {
		return t, nil
	}
	return analyze(text, c.kind, c.node, c.class)
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}
