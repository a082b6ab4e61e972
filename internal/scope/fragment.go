package scope

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
)

// ErrUnsafeSQL is returned when SQL text that a caller's predicate, order
// or aggregate function produced could leave the place the layer puts it
// (unbalanced parentheses, a comment, a statement separator, dollar quoting,
// a structural keyword) or calls a function outside the allowed list.
var ErrUnsafeSQL = errors.New("privacy: caller SQL cannot be confined to its clause")

// fragmentKind says where a fragment goes, and so what it may contain.
type fragmentKind int

const (
	// fragPredicate is a WHERE conjunct: it is wrapped in parentheses, so
	// subqueries (edge predicates) are allowed.
	fragPredicate fragmentKind = iota
	// fragExpr is a select-list or ORDER BY item: it is not wrapped, so no
	// subquery and no clause keyword at the top level.
	fragExpr
)

// frozen is SQL text rendered once and vetted: segments of text with the
// argument each placeholder stood for between them. Rendering it again runs
// no caller code, so what executes is exactly what was checked.
type frozen struct {
	text []string // len(text) == len(args)+1
	args []any
	src  string // the text as vetted, placeholders from $1: its shape
}

// shape identifies the fragment's text, whatever its arguments.
func (f *frozen) shape() string { return f.src }

// build writes the fragment into b, numbering placeholders after b's own.
func (f *frozen) build(b *sql.Builder) {
	for i, a := range f.args {
		b.WriteString(f.text[i])
		b.Argf("$"+strconv.Itoa(b.Total()+1), a)
	}
	b.WriteString(f.text[len(f.args)])
}

// predicate returns the fragment as a predicate, in parentheses.
func (f *frozen) predicate() *sql.Predicate {
	return sql.P(func(b *sql.Builder) { b.Wrap(f.build) })
}

// freezePredicate renders p on its own (placeholders from $1) and vets it.
func freezePredicate(p *sql.Predicate) (*frozen, error) {
	p.SetDialect(dialect.Postgres)
	p.SetTotal(0)
	text, args := p.Query()
	if err := p.Err(); err != nil {
		return nil, err
	}
	return vet(text, args, fragPredicate)
}

// allowedFuncs are the functions a caller fragment may call: what Ent's own
// predicates, orders and aggregates render (LOWER for EqualFold, JSON
// helpers, aggregates) and side-effect-free scalar functions. Anything else
// (set_config, pg_sleep, dblink, lo_import, ...) is refused: raw text must
// not reach server state through a predicate.
var allowedFuncs = setOf(
	"lower", "upper", "coalesce", "nullif", "greatest", "least", "length",
	"char_length", "character_length", "octet_length", "abs", "round", "floor",
	"ceil", "ceiling", "trim", "btrim", "ltrim", "rtrim", "substring", "position",
	"replace", "concat", "date_trunc", "extract", "now",
	"count", "sum", "min", "max", "avg", "bool_and", "bool_or", "array_agg", "string_agg",
	"array_length", "cardinality", "jsonb_typeof", "json_typeof", "jsonb_array_length",
	"json_array_length", "jsonb_extract_path", "jsonb_extract_path_text",
	"json_extract_path", "json_extract_path_text", "to_jsonb", "jsonb_build_array",
	// type names written with a modifier in casts, e.g. ::varchar(10)
	"varchar", "character", "char", "numeric", "decimal", "timestamp", "timestamptz", "time", "interval", "bit",
)

// keywords that may stand before "(" without being a function call.
var parenKeywords = setOf(
	"and", "or", "not", "in", "exists", "any", "all", "some", "array", "values", "row",
	"cast", "select", "from", "where", "is", "like", "ilike", "similar", "between",
	"case", "when", "then", "else", "end", "as", "on", "distinct", "filter", "over",
	"within", "escape", "using", "join", "null",
)

// clauseKeywords may not stand at the top level of an unwrapped fragment:
// they would end the select-list or ORDER BY item and start a clause.
var clauseKeywords = setOf(
	"select", "from", "where", "group", "having", "window", "union", "intersect",
	"except", "order", "limit", "offset", "fetch", "for", "into", "returning", "with",
)

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// vet checks that text (with $n placeholders for args) stays inside the
// clause it is put in, and freezes it. It is a lexer, not a parser: it
// refuses what it cannot classify.
func vet(text string, args []any, kind fragmentKind) (*frozen, error) {
	fail := func(format string, a ...any) (*frozen, error) {
		return nil, fmt.Errorf("%w: %s in %q", ErrUnsafeSQL, fmt.Sprintf(format, a...), clip(text))
	}
	f := &frozen{}
	var (
		depth int
		seg   strings.Builder
		prev  byte // previous significant byte outside literals
	)
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == 0:
			return fail("NUL byte")
		case c == ';':
			return fail("statement separator")
		case c == '-' && i+1 < len(text) && text[i+1] == '-', c == '/' && i+1 < len(text) && text[i+1] == '*':
			return fail("comment")
		case c == '\'':
			if i > 0 && (isIdentByte(text[i-1]) || text[i-1] == '&') {
				return fail("prefixed string literal") // E'', U&'', B'', X'': escapes the lexer does not follow
			}
			end := closing(text, i, '\'')
			if end < 0 {
				return fail("unterminated string")
			}
			seg.WriteString(text[i : end+1])
			i, prev = end+1, '\''
			continue
		case c == '"':
			end := closing(text, i, '"')
			if end < 0 {
				return fail("unterminated identifier")
			}
			word := text[i+1 : end]
			seg.WriteString(text[i : end+1])
			i, prev = end+1, '"'
			if j := skipSpace(text, i); j < len(text) && text[j] == '(' && !allowedFuncs[word] {
				return fail("call of function %q", word)
			}
			continue
		case c == '$':
			j := i + 1
			for j < len(text) && text[j] >= '0' && text[j] <= '9' {
				j++
			}
			if j == i+1 {
				return fail("dollar quoting")
			}
			n, err := strconv.Atoi(text[i+1 : j])
			if err != nil || n < 1 || n > len(args) {
				return fail("placeholder $%s without an argument", text[i+1:j])
			}
			if kind == fragExpr {
				return fail("argument in an unwrapped expression")
			}
			f.text = append(f.text, seg.String())
			f.args = append(f.args, args[n-1])
			seg.Reset()
			i, prev = j, '0'
			continue
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
			if depth < 0 {
				return fail("unbalanced %q", c)
			}
		case isIdentStart(c):
			j := i
			for j < len(text) && isIdentByte(text[j]) {
				j++
			}
			if j < len(text) && text[j] == '$' {
				return fail("dollar in identifier")
			}
			word := strings.ToLower(text[i:j])
			next := skipSpace(text, j)
			qualified := prev == '.'
			switch {
			case next < len(text) && text[next] == '(' && !parenKeywords[word] && (qualified || !allowedFuncs[word]):
				return fail("call of function %q", word)
			case kind == fragExpr && word == "select":
				return fail("subquery")
			case kind == fragExpr && depth == 0 && clauseKeywords[word]:
				return fail("clause keyword %q", word)
			}
			seg.WriteString(text[i:j])
			i, prev = j, text[j-1]
			continue
		}
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			prev = c
		}
		seg.WriteByte(c)
		i++
	}
	if depth != 0 {
		return fail("unbalanced parentheses")
	}
	f.text = append(f.text, seg.String())
	f.src = text
	return f, nil
}

// closing returns the index of the quote that ends the quoted run opening
// at i (a doubled quote is an escaped one), or -1.
func closing(text string, i int, q byte) int {
	for j := i + 1; j < len(text); j++ {
		switch {
		case text[j] == 0, q == '\'' && text[j] == '\\':
			return -1 // a backslash escapes the quote when standard_conforming_strings is off
		case text[j] != q:
		case j+1 < len(text) && text[j+1] == q:
			j++
		default:
			return j
		}
	}
	return -1
}

func skipSpace(text string, i int) int {
	for i < len(text) && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r') {
		i++
	}
	return i
}

func isIdentStart(c byte) bool {
	return c == '_' || (c|0x20) >= 'a' && (c|0x20) <= 'z' || c >= 0x80
}

func isIdentByte(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}
