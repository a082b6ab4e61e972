package scope

import (
	"strconv"
	"strings"
)

// Plain caller SQL: what Ent's typed field predicates and orders render
// (qualified columns of the statement's table compared with placeholders
// or each other, IN lists, IS NULL, LIKE with a placeholder, AND/OR/NOT,
// parentheses; column lists with ASC/DESC/NULLS) is recognized by this
// strict grammar in one pass, without pg_query: its tokens are few and
// cannot be read two ways (quoted identifiers of lower-case letters, digits
// and underscores, $n, operators, upper-case keywords), it names no
// relation and everything in it is safe (grammar.go), so it runs as written
// and needs no rewrite. Anything else goes to the full grammar. The point
// is cost: a new shape with a long IN list (eager loading, IDIn) is a
// linear scan here, where pg_query spends milliseconds per thousand items.
// TestPlainAgreesWithGrammar checks that what this accepts, the full
// grammar accepts unchanged.

// plainTok is one token of plain caller SQL.
type plainTok struct {
	kind byte   // 'i' identifier, '$' placeholder, 'o' operator, 'k' keyword, or the punctuation itself
	text string // identifier name, operator, keyword
	pos  int    // start in the text
	end  int
}

// plainTokens splits text; false when a character falls outside the
// plain alphabet.
func plainTokens(text string) ([]plainTok, bool) {
	toks := make([]plainTok, 0, len(text)/4)
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"':
			j := i + 1
			for j < len(text) && (text[j] >= 'a' && text[j] <= 'z' || text[j] >= '0' && text[j] <= '9' || text[j] == '_') {
				j++
			}
			if j == i+1 || j >= len(text) || text[j] != '"' || j+1 < len(text) && text[j+1] == '"' {
				return nil, false // empty, unterminated, other characters, or a doubled quote
			}
			toks = append(toks, plainTok{'i', text[i+1 : j], i, j + 1})
			i = j + 1
		case c == '$':
			j := i + 1
			for j < len(text) && text[j] >= '0' && text[j] <= '9' {
				j++
			}
			if j == i+1 || j-i > 6 || j < len(text) && isPlainWordByte(text[j]) {
				return nil, false
			}
			toks = append(toks, plainTok{'$', text[i+1 : j], i, j})
			i = j
		case c == '(' || c == ')' || c == ',' || c == '.':
			toks = append(toks, plainTok{c, "", i, i + 1})
			i++
		case c == '=' || c == '<' || c == '>':
			j := i + 1
			if j < len(text) && (text[j] == '=' || c == '<' && text[j] == '>') {
				j++
			}
			if j < len(text) && strings.IndexByte("=<>!~*+-/%^&|`@#?", text[j]) >= 0 {
				return nil, false // a longer operator
			}
			toks = append(toks, plainTok{'o', text[i:j], i, j})
			i = j
		case c >= 'A' && c <= 'Z':
			j := i
			for j < len(text) && text[j] >= 'A' && text[j] <= 'Z' {
				j++
			}
			if j < len(text) && isPlainWordByte(text[j]) {
				return nil, false
			}
			toks = append(toks, plainTok{'k', text[i:j], i, j})
			i = j
		default:
			return nil, false
		}
	}
	return toks, true
}

func isPlainWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z' || c >= 0x80
}

// plainParser is a recursive-descent parser of plain caller SQL over the
// statement's table n.
type plainParser struct {
	toks     []plainTok
	i        int
	n        *Node
	maxParam int32
	patterns []int32
	depth    int
	ok       bool
}

func (p *plainParser) peek(kind byte, text string) bool {
	return p.i < len(p.toks) && p.toks[p.i].kind == kind && (text == "" || p.toks[p.i].text == text)
}

func (p *plainParser) accept(kind byte, text string) bool {
	if p.peek(kind, text) {
		p.i++
		return true
	}
	return false
}

func (p *plainParser) fail() bool { p.ok = false; return false }

// plain returns the template of text when it is plain caller SQL of kind
// over n.
func plain(text string, kind fragmentKind, n *Node) (*template, bool) {
	if kind == fragExpr {
		return nil, false
	}
	toks, ok := plainTokens(text)
	if !ok || len(toks) == 0 {
		return nil, false
	}
	p := &plainParser{toks: toks, n: n, ok: true}
	if kind == fragPredicate {
		p.disjunction()
	} else {
		p.orderTerms()
	}
	if !p.ok || p.i != len(toks) {
		return nil, false
	}
	params := strings.Count(text, "$")
	t := &template{text: make([]string, 0, params+1), refs: make([]int, 0, params), maxParam: p.maxParam, patterns: p.patterns, src: text}
	last := 0
	for _, tok := range toks {
		if tok.kind == '$' {
			t.text = append(t.text, text[last:tok.pos])
			t.refs = append(t.refs, int(number(tok)))
			last = tok.end
		}
	}
	t.text = append(t.text, text[last:])
	return t, true
}

func (p *plainParser) disjunction() {
	for p.conjunction() && p.accept('k', "OR") {
	}
}

func (p *plainParser) conjunction() bool {
	for p.unary() {
		if !p.accept('k', "AND") {
			return true
		}
	}
	return false
}

// maxPlainDepth bounds the nesting the plain grammar follows; deeper text
// goes to the full grammar (whose parser refuses beyond about 5,000).
const maxPlainDepth = 64

func (p *plainParser) unary() bool {
	for p.accept('k', "NOT") {
	}
	if p.accept('(', "") {
		if p.depth++; p.depth > maxPlainDepth {
			return p.fail()
		}
		p.disjunction()
		p.depth--
		return p.ok && p.accept(')', "") || p.fail()
	}
	return p.comparison()
}

// comparison: col op (col | $n), col [NOT] IN ($n, ...), col IS [NOT]
// NULL, col [NOT] [I]LIKE $n.
func (p *plainParser) comparison() bool {
	class, ok := p.column()
	if !ok {
		return p.fail()
	}
	switch {
	case p.peek('o', ""):
		p.i++
		if p.peek('$', "") {
			return p.param()
		}
		other, ok := p.column()
		return ok && other == class || p.fail()
	case p.accept('k', "IS"):
		p.accept('k', "NOT")
		return p.accept('k', "NULL") || p.fail()
	}
	p.accept('k', "NOT")
	switch {
	case p.accept('k', "IN"):
		if !p.accept('(', "") {
			return p.fail()
		}
		for p.param() && p.accept(',', "") {
		}
		return p.ok && p.accept(')', "") || p.fail()
	case p.accept('k', "LIKE"), p.accept('k', "ILIKE"):
		if !p.peek('$', "") {
			return p.fail()
		}
		p.patterns = append(p.patterns, number(p.toks[p.i]))
		return p.param()
	}
	return p.fail()
}

// column reads "table"."column" of the statement's table; its class.
func (p *plainParser) column() (string, bool) {
	if !p.peek('i', p.n.Table) || p.i+2 >= len(p.toks) || p.toks[p.i+1].kind != '.' || p.toks[p.i+2].kind != 'i' {
		return "", false
	}
	class, ok := p.n.Columns[p.toks[p.i+2].text]
	if !ok {
		return "", false
	}
	p.i += 3
	return class, true
}

func (p *plainParser) param() bool {
	if !p.peek('$', "") {
		return p.fail()
	}
	n := number(p.toks[p.i])
	if n < 1 || n >= maxCallerParam {
		return p.fail()
	}
	p.maxParam = max(p.maxParam, n)
	p.i++
	return true
}

// number is a placeholder's number (0 when out of range).
func number(t plainTok) int32 {
	n, err := strconv.Atoi(t.text)
	if err != nil || n >= maxCallerParam {
		return 0
	}
	return int32(n)
}

// orderTerms: col [ASC|DESC] [NULLS FIRST|LAST] {, ...}.
func (p *plainParser) orderTerms() {
	for {
		if _, ok := p.column(); !ok {
			p.fail()
			return
		}
		if !p.accept('k', "ASC") {
			p.accept('k', "DESC")
		}
		if p.accept('k', "NULLS") && !p.accept('k', "FIRST") && !p.accept('k', "LAST") {
			p.fail()
			return
		}
		if !p.accept(',', "") {
			return
		}
	}
}
