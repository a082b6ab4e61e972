// Package plans chooses, per statement, between a cached plan and a plan for the statement's own values.
//
// PostgreSQL may keep a generic plan for a prepared statement after five
// executions. For a lookup by a unique key that plan is the right one for
// every tenant, and caching it saves the planner on every call. For a list,
// a count or a work queue over one tenant's rows the right plan depends on
// how many rows that tenant has (docs/SCALE.md): a plan costed for an average
// tenant is wrong for one 100 times larger. So the layer's connections
// default to pgx's QueryExecModeCacheDescribe (an unnamed statement per
// execution, planned with its values, one round trip), and statements of
// the Point class run as named prepared statements (QueryExecModeCacheStatement),
// which PostgreSQL may plan once. Behind a transaction pooler nothing is
// named: every statement runs unnamed. On Citus a statement pinned to one
// tenant (tenant_id = $n in its top-level conjunction) runs named too: the
// coordinator's plan of it only routes it to the tenant's shard, whatever
// the values, and the worker plans the shard query it is sent, with the
// values inlined, on every execution (docs/SCALE.md, "Efficiency on the
// cluster"); naming it saves the coordinator's parse and planning.
package plans

import (
	"context"
	"database/sql"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
)

// Class is what a statement's plan may depend on.
type Class uint8

const (
	// Custom: the plan may change with the values (a tenant's size):
	// planned for its values on every execution. The default for
	// anything not recognised as Point.
	Custom Class = iota
	// Point: an INSERT of values, or a SELECT, UPDATE or DELETE pinned to
	// one row by a unique key (id, or tenant_id with ref_id) in its
	// top-level conjunction. Its plan is an index lookup for any tenant.
	Point
)

func (c Class) String() string {
	if c == Point {
		return "point"
	}
	return "custom"
}

// Mode is the pgx execution mode of the layer's connections: the default
// every statement gets, and the one Point statements get.
type Mode struct {
	// Pgx is false for drivers other than pgx (lib/pq), which take no
	// mode argument; lib/pq sends every parameterised statement unnamed.
	Pgx bool
	// Pooled: behind a transaction pooler, which cannot keep named
	// statements; Point statements run unnamed too.
	Pooled bool
	// Citus: the database is a Citus coordinator; statements pinned to
	// one tenant run named as well (the package comment says why).
	Citus bool
}

// Default is the pgx mode a pgx connection of the layer is configured with.
const Default = pgx.QueryExecModeCacheDescribe

// cached is the mode of Point statements on a direct connection.
const cached = pgx.QueryExecModeCacheStatement

// Args returns args for query with the execution mode its class needs in
// front (pgx reads a QueryExecMode first argument, through database/sql
// too), or args unchanged when the default is right.
func (m Mode) Args(query string, args []any) []any {
	if !m.Pgx || m.Pooled {
		return args
	}
	if s := shapeOf(query); s.class != Point && !(m.Citus && s.tenant) {
		return args
	}
	return PointArgs(args)
}

// PointArgs returns args with the cached-plan mode in front, for a
// statement the caller knows is of the Point class on a direct pgx
// connection (the ledger's posting statement).
func PointArgs(args []any) []any {
	out := make([]any, len(args)+1)
	out[0] = cached
	copy(out[1:], args)
	return out
}

// ExecQuerier is database/sql's statement interface, which *sql.DB,
// *sql.Tx and *sql.Conn implement.
type ExecQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Classed wraps an ExecQuerier so that each statement gets the mode of its
// class (Ent's statements inside database/sql transactions).
type Classed struct {
	ExecQuerier
	Mode Mode
}

// ExecContext runs query with its class's mode.
func (c Classed) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.ExecQuerier.ExecContext(ctx, query, c.Mode.Args(query, args)...)
}

// QueryContext runs query with its class's mode.
func (c Classed) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.ExecQuerier.QueryContext(ctx, query, c.Mode.Args(query, args)...)
}

// shape is what the mode of a statement depends on: its class, and
// whether its top-level conjunction pins tenant_id to one value.
type shape struct {
	class  Class
	tenant bool
}

// classes remembers the shape of statement texts seen, up to maxClasses
// texts (caller predicates can make unbounded shapes; past the cap a text
// is classified again on every call, which is cheap).
var (
	classes   sync.Map // string -> shape
	nClasses  int
	classesMu sync.Mutex
)

const maxClasses = 4096

// Classify returns the class of a statement (see Point).
func Classify(query string) Class { return shapeOf(query).class }

func shapeOf(query string) shape {
	if c, ok := classes.Load(query); ok {
		return c.(shape)
	}
	c := classify(query)
	classesMu.Lock()
	if nClasses < maxClasses {
		if _, loaded := classes.LoadOrStore(query, c); !loaded {
			nClasses++
		}
	}
	classesMu.Unlock()
	return c
}

func classify(query string) shape {
	toks := tokens(query)
	if len(toks) == 0 {
		return shape{class: Custom}
	}
	switch strings.ToUpper(toks[0].text) {
	case "INSERT":
		for _, t := range toks {
			if t.depth == 0 && t.word("SELECT") {
				return shape{class: Custom} // INSERT ... SELECT reads rows
			}
		}
		return shape{class: Point}
	case "SELECT", "UPDATE", "DELETE":
	default:
		return shape{class: Custom} // WITH, raw SQL the layer does not know
	}
	where := -1
	for i, t := range toks {
		if t.depth == 0 && t.word("WHERE") {
			where = i + 1
			break
		}
	}
	if where < 0 {
		return shape{class: Custom}
	}
	end := len(toks)
	for i := where; i < len(toks); i++ {
		if toks[i].depth == 0 && (toks[i].word("ORDER") || toks[i].word("GROUP") || toks[i].word("LIMIT") ||
			toks[i].word("OFFSET") || toks[i].word("RETURNING") || toks[i].word("FOR") || toks[i].word("HAVING")) {
			end = i
			break
		}
	}
	var pins pins
	if !pins.conjuncts(toks[where:end], 0) {
		return shape{class: Custom}
	}
	if pins.id || pins.tenant && pins.ref {
		return shape{class: Point, tenant: pins.tenant}
	}
	return shape{class: Custom, tenant: pins.tenant}
}

// pins records which unique-key columns a conjunction sets to one value.
type pins struct{ id, tenant, ref bool }

// conjuncts walks an AND-list at depth d, descending into parenthesised
// conjuncts; false, with nothing noted, when the list has an OR at its
// level (then no conjunct of it is guaranteed).
func (p *pins) conjuncts(toks []token, d int) bool {
	for _, t := range toks {
		if t.depth == d && t.word("OR") {
			return false
		}
	}
	start := 0
	for i := 0; i <= len(toks); i++ {
		if i < len(toks) && !(toks[i].depth == d && toks[i].word("AND")) {
			continue
		}
		c := toks[start:i]
		start = i + 1
		if len(c) >= 2 && c[0].text == "(" && c[len(c)-1].text == ")" && enclosed(c, d) {
			p.conjuncts(c[1:len(c)-1], d+1) // an OR inside pins nothing; the other conjuncts still hold
			continue
		}
		p.conjunct(c)
	}
	return true
}

// enclosed reports whether the parenthesis opening c closes at its end.
func enclosed(c []token, d int) bool {
	for _, t := range c[1 : len(c)-1] {
		if t.depth <= d {
			return false
		}
	}
	return true
}

// conjunct notes `col = $n` (col optionally table-qualified) for the key columns.
func (p *pins) conjunct(c []token) {
	if len(c) != 3 || c[1].text != "=" || !strings.HasPrefix(c[2].text, "$") {
		return
	}
	col := c[0].text
	if i := strings.LastIndexByte(col, '.'); i >= 0 {
		col = col[i+1:]
	}
	switch strings.Trim(col, `"`) {
	case "id":
		p.id = true
	case "tenant_id":
		p.tenant = true
	case "ref_id":
		p.ref = true
	}
}

// token is a lexical unit of a statement at a parenthesis depth: a word
// or qualified name (`"t"."id"`), a placeholder, an operator, a
// parenthesis, or a whole string literal.
type token struct {
	text  string
	depth int
}

func (t token) word(w string) bool { return strings.EqualFold(t.text, w) }

// tokens splits query for classify. It only needs to be right about the
// tokens it matches (keywords, key columns, placeholders, parentheses);
// anything it cannot read makes a token that matches nothing.
func tokens(q string) []token {
	var out []token
	depth := 0
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\n' || c == '\t' || c == '\r':
			i++
		case c == '(':
			out = append(out, token{"(", depth})
			depth++
			i++
		case c == ')':
			depth--
			out = append(out, token{")", depth})
			i++
		case c == '\'':
			j := i + 1
			for j < len(q) && (q[j] != '\'' || j+1 < len(q) && q[j+1] == '\'') {
				if q[j] == '\'' {
					j++
				}
				j++
			}
			out = append(out, token{q[i:min(j+1, len(q))], depth})
			i = j + 1
		case c == '"' || isWord(c) || c == '$':
			j := i
			for j < len(q) {
				if q[j] == '"' {
					k := strings.IndexByte(q[j+1:], '"')
					if k < 0 {
						j = len(q)
						break
					}
					j += k + 2
					continue
				}
				if !isWord(q[j]) && q[j] != '.' && q[j] != '$' {
					break
				}
				j++
			}
			out = append(out, token{q[i:j], depth})
			i = j
		default:
			j := i + 1
			for j < len(q) && strings.IndexByte("=<>!~*+-/%|&^#@:,;[]", q[j]) >= 0 && strings.IndexByte(",;[]", q[j-1]) < 0 {
				j++
			}
			out = append(out, token{q[i:j], depth})
			i = j
		}
	}
	return out
}

func isWord(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}
