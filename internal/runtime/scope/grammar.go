package scope

import (
	"fmt"
	"strconv"
	"strings"

	"entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"
	pg "github.com/pganalyze/pg_query_go/v6"
)

// Caller SQL judged by PostgreSQL's own parser (pg_query: the server's
// grammar, compiled in). A fragment is parsed in the place it goes (a
// wrapper statement whose only clause it may fill), its tree is walked
// with an allow-list of node types, operators, functions and types, and
// the statement gets the tree printed back (pg_query's deparser), never
// the caller's text: no comment, quoting or lexer trick survives.
//
// For a tenant viewer, the walk also:
//   - rewrites every relation a sub-select names, at any depth, into the
//     viewer's live rows of that entity's table:
//     (SELECT * FROM t WHERE t.tenant_id = <viewer> AND t.deleted_at IS NULL) AS t;
//     when the sub-select holds an expression that could fail on a row
//     (anything but a plain comparison, see safe below), the derived table
//     ends in OFFSET 0, which PostgreSQL never flattens and never pushes a
//     condition into (allpaths.c, subquery_is_pushdown_safe), so the
//     expression only ever sees the viewer's rows;
//   - puts every conjunct of a predicate that could fail on a row behind
//     the statement's own scope: CASE WHEN t.tenant_id = <viewer> AND
//     t.deleted_at IS NULL THEN <conjuncts> ELSE FALSE END. PostgreSQL
//     orders a scan's conditions by cost, not as written, so without it a
//     caller's expression may run on another tenant's row before the
//     tenant condition rejects it; a CASE evaluates its branch only when
//     the condition holds.
//
// safe: an expression is safe when evaluating it on any row can neither
// fail nor act: columns, parameters, constants and the statement's time
// (now(), CURRENT_TIMESTAMP, ...), compared (=, <>, <, <=,
// >, >=, IS [NOT] DISTINCT FROM, IN, BETWEEN, = ANY, LIKE/ILIKE with a
// well-formed pattern) without a conversion that could fail, IS [NOT]
// NULL/TRUE/FALSE, AND/OR/NOT, and EXISTS/IN over sub-selects made only of
// those. Ent's typed predicates and edge predicates are safe, so their
// plans do not change.

// viewerClass is what a statement's viewer may read, which decides the
// rewrite; the cache keeps one verdict per class.
type viewerClass uint8

const (
	classSystem        viewerClass = iota // every row: relations are kept, no guard
	classTenant                           // the tenant's live rows (shared rows: the platform's)
	classTenantDeleted                    // the tenant's rows, soft-deleted ones too (WithDeleted)
)

// timeClass is the comparison class of Ent's time fields (timestamptz).
var timeClass = ColumnClasses([]*schema.Column{{Name: "t", Type: field.TypeTime}})["t"]

// viewerParam is the placeholder number the rewrite gives the viewer's
// tenant id before the output is split into segments; caller placeholders
// stay below maxCallerParam.
const (
	viewerParam    = 1 << 30
	maxCallerParam = 1 << 16
)

// wrappers put a fragment in the one clause it may fill.
var wrappers = [...]string{
	fragPredicate: "SELECT 1 WHERE ",
	fragOrder:     "SELECT 1 ORDER BY ",
	fragExpr:      "SELECT ",
}

// allowedFuncs are the functions a caller may call by name: what Ent's
// predicates, orders and aggregates render, and side-effect-free scalar
// functions of a row's values. Nothing reaches server state, a catalog, a
// file, a lock or another relation (set_config, current_setting, pg_*,
// query_to_xml, dblink, lo_*, pg_advisory_lock, nextval, row_to_json of a
// row, ... are not here).
var allowedFuncs = setOf(
	"lower", "upper", "length", "char_length", "character_length", "octet_length",
	"abs", "round", "floor", "ceil", "ceiling", "btrim", "ltrim", "rtrim", "substring",
	"replace", "concat", "date_trunc", "now",
	"count", "sum", "min", "max", "avg", "bool_and", "bool_or", "array_agg", "string_agg",
	"array_length", "cardinality", "jsonb_typeof", "json_typeof", "jsonb_array_length",
	"json_array_length", "jsonb_extract_path", "jsonb_extract_path_text",
	"json_extract_path", "json_extract_path_text", "to_jsonb", "jsonb_build_array",
)

// catalogFuncs are the pg_catalog functions the grammar itself names for
// SQL-standard syntax (EXTRACT(... FROM ...), TRIM, SUBSTRING(... FROM
// ...), POSITION, AT TIME ZONE, LIKE ... ESCAPE).
var catalogFuncs = setOf("extract", "btrim", "ltrim", "rtrim", "substring", "position", "timezone", "like_escape")

// allowedTypes are the types a caller may cast to (as the parser names
// them): no reg* type (a cast to regclass reads the catalog), no row type.
var allowedTypes = setOf(
	"text", "varchar", "bpchar", "char", "int2", "int4", "int8", "numeric", "float4", "float8",
	"bool", "date", "time", "timetz", "timestamp", "timestamptz", "interval", "json", "jsonb", "uuid",
)

var (
	comparisons = setOf("=", "<>", "<", "<=", ">", ">=")
	// operators: comparisons, arithmetic, concatenation, JSON and regular
	// expressions (LIKE is its own node kind).
	operators = setOf("=", "<>", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "||",
		"->", "->>", "#>", "#>>", "@>", "<@", "?", "?|", "?&", "~", "~*", "!~", "!~*")
	likeOperators = setOf("~~", "!~~", "~~*", "!~~*")
)

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// relation is one FROM item in scope: its name there and its entity.
type relation struct {
	name string
	node *Node
}

// level is one query level's FROM items; a scope is the list of levels,
// the statement's own first.
type level []relation

// walker vets one fragment and rewrites it in place.
type walker struct {
	text     string
	class    viewerClass
	maxParam int32
	patterns []int32 // parameters used as LIKE patterns: checked per call
}

func (w *walker) fail(format string, a ...any) error {
	return fmt.Errorf("%w: %s in %q", ErrUnsafeSQL, fmt.Sprintf(format, a...), clip(w.text))
}

// analyze parses text where kind puts it, in a statement over n's table,
// and returns what runs instead: the printed, rewritten tree.
func analyze(text string, kind fragmentKind, n *Node, class viewerClass) (*template, error) {
	w := &walker{text: text, class: class}
	if strings.IndexByte(text, 0) >= 0 {
		return nil, w.fail("NUL byte")
	}
	prefix := wrappers[kind]
	tree, err := pg.Parse(prefix + text)
	if err != nil {
		return nil, w.fail("does not parse (%v)", err)
	}
	if len(tree.Stmts) != 1 {
		return nil, w.fail("more than one statement")
	}
	sel := tree.Stmts[0].GetStmt().GetSelectStmt()
	if sel == nil || w.leftClause(sel, kind) {
		return nil, w.fail("the text leaves its clause")
	}
	top := []level{{{name: n.Table, node: n}}}
	switch kind {
	case fragPredicate:
		if sel.WhereClause, err = w.predicate(sel.WhereClause, top, n); err != nil {
			return nil, err
		}
	case fragOrder:
		for _, item := range sel.SortClause {
			if _, err := w.sortBy(item, top); err != nil {
				return nil, err
			}
		}
	case fragExpr:
		rt := sel.TargetList[0].GetResTarget()
		if rt == nil || len(rt.Indirection) > 0 {
			return nil, w.fail("not one select-list item")
		}
		if _, err := w.expr(rt.Val, top); err != nil {
			return nil, err
		}
	}
	out, err := pg.Deparse(tree)
	if err != nil {
		return nil, w.fail("cannot be printed back (%v)", err)
	}
	// What runs must be what was judged: the printed text parses back to
	// a tree that prints the same.
	if again, err := pg.Parse(out); err != nil {
		return nil, w.fail("printed text does not parse (%v)", err)
	} else if same, err := pg.Deparse(again); err != nil || same != out {
		return nil, w.fail("printed text does not parse back the same")
	}
	frag, ok := strings.CutPrefix(out, prefix)
	if !ok {
		return nil, w.fail("printed back as %q", clip(out))
	}
	return w.template(frag)
}

// leftClause reports whether the wrapper statement got anything but the
// clause the fragment fills: the text closed its clause and opened another.
func (w *walker) leftClause(s *pg.SelectStmt, kind fragmentKind) bool {
	other := s.IntoClause != nil || len(s.FromClause) > 0 || len(s.DistinctClause) > 0 ||
		len(s.GroupClause) > 0 || s.GroupDistinct || s.HavingClause != nil || len(s.WindowClause) > 0 ||
		len(s.ValuesLists) > 0 || s.LimitOffset != nil || s.LimitCount != nil || len(s.LockingClause) > 0 ||
		s.WithClause != nil || s.Op != pg.SetOperation_SETOP_NONE || len(s.TargetList) != 1
	switch kind {
	case fragPredicate:
		return other || s.WhereClause == nil || len(s.SortClause) > 0
	case fragOrder:
		return other || s.WhereClause != nil || len(s.SortClause) == 0
	default:
		return other || s.WhereClause != nil || len(s.SortClause) > 0
	}
}

// predicate vets a WHERE fragment and, for a tenant viewer, puts its
// conjuncts that are not safe behind the statement's scope.
func (w *walker) predicate(where *pg.Node, top []level, n *Node) (*pg.Node, error) {
	var safe, guarded []*pg.Node
	for _, c := range conjuncts(where, nil) {
		ok, err := w.expr(c, top)
		if err != nil {
			return nil, err
		}
		if ok {
			safe = append(safe, c)
		} else {
			guarded = append(guarded, c)
		}
	}
	if w.class == classSystem || len(guarded) == 0 {
		return where, nil
	}
	guard := &pg.CaseExpr{
		Args:      []*pg.Node{{Node: &pg.Node_CaseWhen{CaseWhen: &pg.CaseWhen{Expr: w.scope(n, n.Table), Result: and(guarded)}}}},
		Defresult: &pg.Node{Node: &pg.Node_AConst{AConst: &pg.A_Const{Val: &pg.A_Const_Boolval{Boolval: &pg.Boolean{Boolval: false}}}}},
		Location:  -1,
	}
	return and(append(safe, &pg.Node{Node: &pg.Node_CaseExpr{CaseExpr: guard}})), nil
}

// conjuncts flattens nested ANDs.
func conjuncts(n *pg.Node, out []*pg.Node) []*pg.Node {
	if b := n.GetBoolExpr(); b != nil && b.Boolop == pg.BoolExprType_AND_EXPR {
		for _, a := range b.Args {
			out = conjuncts(a, out)
		}
		return out
	}
	return append(out, n)
}

func and(items []*pg.Node) *pg.Node {
	if len(items) == 1 {
		return items[0]
	}
	return pg.MakeBoolExprNode(pg.BoolExprType_AND_EXPR, items, -1)
}

// scope is what the viewer may read of n's rows, named rel: the tenant (or
// the platform, for shared rows) and, unless WithDeleted, live rows only.
func (w *walker) scope(n *Node, rel string) *pg.Node {
	col := func(c string) *pg.Node {
		return pg.MakeColumnRefNode([]*pg.Node{pg.MakeStrNode(rel), pg.MakeStrNode(c)}, -1)
	}
	owner := pg.MakeParamRefNode(viewerParam, -1)
	if n.Kind == KindShared {
		owner = pg.MakeAConstStrNode(PlatformTenantID, -1)
	}
	conds := []*pg.Node{pg.MakeAExprNode(pg.A_Expr_Kind_AEXPR_OP, []*pg.Node{pg.MakeStrNode("=")}, col(ColumnTenantID), owner, -1)}
	if n.SoftDelete && w.class != classTenantDeleted {
		conds = append(conds, &pg.Node{Node: &pg.Node_NullTest{NullTest: &pg.NullTest{
			Arg: col(ColumnDeletedAt), Nulltesttype: pg.NullTestType_IS_NULL, Location: -1}}})
	}
	return and(conds)
}

// expr vets an expression and reports whether it is safe (see above).
func (w *walker) expr(n *pg.Node, sc []level) (bool, error) {
	switch x := n.GetNode().(type) {
	case *pg.Node_ColumnRef:
		_, err := w.column(x.ColumnRef, sc)
		return err == nil, err
	case *pg.Node_ParamRef:
		return true, w.param(x.ParamRef)
	case *pg.Node_AConst:
		return true, nil
	case *pg.Node_BoolExpr:
		safe := true
		for _, a := range x.BoolExpr.Args {
			ok, err := w.expr(a, sc)
			if err != nil {
				return false, err
			}
			safe = safe && ok
		}
		return safe, nil
	case *pg.Node_NullTest:
		return w.operandOnly(x.NullTest.Arg, sc)
	case *pg.Node_BooleanTest:
		return w.operandOnly(x.BooleanTest.Arg, sc)
	case *pg.Node_AExpr:
		return w.aExpr(x.AExpr, sc)
	case *pg.Node_SubLink:
		return w.subLink(x.SubLink, sc)
	case *pg.Node_TypeCast:
		if err := w.typeName(x.TypeCast.TypeName); err != nil {
			return false, err
		}
		return false, w.exprs(sc, x.TypeCast.Arg)
	case *pg.Node_FuncCall:
		return false, w.funcCall(x.FuncCall, sc)
	case *pg.Node_CaseExpr:
		c := x.CaseExpr
		nodes := []*pg.Node{c.Arg, c.Defresult}
		for _, a := range c.Args {
			cw := a.GetCaseWhen()
			if cw == nil {
				return false, w.fail("malformed CASE")
			}
			nodes = append(nodes, cw.Expr, cw.Result)
		}
		return false, w.exprs(sc, nodes...)
	case *pg.Node_CoalesceExpr:
		return false, w.exprs(sc, x.CoalesceExpr.Args...)
	case *pg.Node_MinMaxExpr:
		return false, w.exprs(sc, x.MinMaxExpr.Args...)
	case *pg.Node_AArrayExpr:
		return false, w.exprs(sc, x.AArrayExpr.Elements...)
	case *pg.Node_RowExpr:
		return false, w.exprs(sc, x.RowExpr.Args...)
	case *pg.Node_AIndirection:
		for _, ind := range x.AIndirection.Indirection {
			idx := ind.GetAIndices()
			if idx == nil {
				return false, w.fail("field selection (attribute notation) or whole-row reference")
			}
			if err := w.exprs(sc, idx.Lidx, idx.Uidx); err != nil {
				return false, err
			}
		}
		return false, w.exprs(sc, x.AIndirection.Arg)
	case *pg.Node_SqlvalueFunction:
		if op := x.SqlvalueFunction.Op; op < pg.SQLValueFunctionOp_SVFOP_CURRENT_DATE || op > pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N {
			return false, w.fail("server function %s", strings.TrimPrefix(op.String(), "SVFOP_"))
		}
		return false, nil
	case nil:
		return false, w.fail("empty expression")
	default:
		return false, w.fail("%s is not allowed", nodeName(n))
	}
}

// exprs vets expressions whose safety does not matter (nil ones skipped).
func (w *walker) exprs(sc []level, nodes ...*pg.Node) error {
	for _, n := range nodes {
		if n == nil {
			continue
		}
		if _, err := w.expr(n, sc); err != nil {
			return err
		}
	}
	return nil
}

func nodeName(n *pg.Node) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", n.GetNode()), "*pg_query.Node_")
}

// operand vets n (once: a walk rewrites sub-selects in place) and, when
// it is a column, parameter or constant, returns its comparison class (""
// for parameters and constants: they take the type they are compared
// with) and ok; safe is whether n is safe.
func (w *walker) operand(n *pg.Node, sc []level) (class string, ok, safe bool, err error) {
	switch x := n.GetNode().(type) {
	case *pg.Node_ColumnRef:
		class, err = w.column(x.ColumnRef, sc)
		return class, err == nil, err == nil, err
	case *pg.Node_ParamRef:
		return "", true, true, w.param(x.ParamRef)
	case *pg.Node_AConst:
		return "", true, true, nil
	case *pg.Node_FuncCall:
		// now(): one value for the whole statement, like a parameter; it
		// compares safely with the class of Ent's time fields (timestamptz).
		if f := x.FuncCall; len(f.Funcname) == 1 && f.Funcname[0].GetString_().GetSval() == "now" &&
			len(f.Args) == 0 && !f.AggStar && f.Over == nil && f.AggFilter == nil {
			return timeClass, true, true, nil
		}
	case *pg.Node_SqlvalueFunction: // CURRENT_TIMESTAMP, CURRENT_DATE, ...: likewise
		if _, err = w.expr(n, sc); err != nil {
			return "", false, false, err
		}
		return timeClass, true, true, nil
	}
	safe, err = w.expr(n, sc)
	return "", false, safe, err
}

// operands vets a list of operands and reports their classes, whether
// each is one, and whether all are safe.
func (w *walker) operands(sc []level, nodes ...*pg.Node) (classes []string, all, safe bool, err error) {
	all, safe = true, true
	for _, n := range nodes {
		c, ok, s, err := w.operand(n, sc)
		if err != nil {
			return nil, false, false, err
		}
		classes = append(classes, c)
		all, safe = all && ok, safe && s
	}
	return classes, all, safe, nil
}

// sameClass reports whether operands of classes compare without a
// conversion that could fail.
func sameClass(classes ...string) bool {
	var seen string
	for _, c := range classes {
		switch {
		case c == "":
		case seen == "":
			seen = c
		case c != seen:
			return false
		}
	}
	return true
}

// operandOnly vets n and reports whether it is an operand (a row of them
// too): the argument of a safe IS test.
func (w *walker) operandOnly(n *pg.Node, sc []level) (bool, error) {
	if row := n.GetRowExpr(); row != nil {
		_, all, _, err := w.operands(sc, row.Args...)
		return all, err
	}
	_, ok, _, err := w.operand(n, sc)
	return ok, err
}

// compared vets two operands of a comparison and reports whether it is
// safe: both operands (rows of them, pairwise), of one class.
func (w *walker) compared(l, r *pg.Node, sc []level) (bool, error) {
	lr, rr := l.GetRowExpr(), r.GetRowExpr()
	if lr != nil && rr != nil && len(lr.Args) == len(rr.Args) {
		safe := true
		for i := range lr.Args {
			ok, err := w.compared(lr.Args[i], rr.Args[i], sc)
			if err != nil {
				return false, err
			}
			safe = safe && ok
		}
		return safe, nil
	}
	classes, all, _, err := w.operands(sc, l, r)
	return all && sameClass(classes...), err
}

func (w *walker) aExpr(e *pg.A_Expr, sc []level) (bool, error) {
	op, err := w.operatorName(e.Name)
	if err != nil {
		return false, err
	}
	switch e.Kind {
	case pg.A_Expr_Kind_AEXPR_OP:
		if !operators[op] && !likeOperators[op] {
			return false, w.fail("operator %q", op)
		}
		if e.Lexpr == nil || !comparisons[op] {
			return false, w.exprs(sc, e.Lexpr, e.Rexpr)
		}
		return w.compared(e.Lexpr, e.Rexpr, sc)
	case pg.A_Expr_Kind_AEXPR_DISTINCT, pg.A_Expr_Kind_AEXPR_NOT_DISTINCT:
		return w.compared(e.Lexpr, e.Rexpr, sc)
	case pg.A_Expr_Kind_AEXPR_NULLIF:
		return false, w.exprs(sc, e.Lexpr, e.Rexpr)
	case pg.A_Expr_Kind_AEXPR_OP_ANY, pg.A_Expr_Kind_AEXPR_OP_ALL:
		if !comparisons[op] {
			return false, w.fail("operator %q with ANY/ALL", op)
		}
		_, lok, _, err := w.operand(e.Lexpr, sc)
		if err != nil {
			return false, err
		}
		rok, err := w.values(e.Rexpr, sc)
		return lok && rok, err
	case pg.A_Expr_Kind_AEXPR_IN:
		items := e.Rexpr.GetList()
		if items == nil {
			return false, w.fail("malformed IN")
		}
		classes, all, _, err := w.operands(sc, append([]*pg.Node{e.Lexpr}, items.Items...)...)
		return all && sameClass(classes...), err
	case pg.A_Expr_Kind_AEXPR_LIKE, pg.A_Expr_Kind_AEXPR_ILIKE:
		_, lok, _, err := w.operand(e.Lexpr, sc)
		if err != nil {
			return false, err
		}
		return lok && w.pattern(e.Rexpr), w.exprs(sc, e.Rexpr)
	case pg.A_Expr_Kind_AEXPR_BETWEEN, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN,
		pg.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
		bounds := e.Rexpr.GetList()
		if bounds == nil || len(bounds.Items) != 2 {
			return false, w.fail("malformed BETWEEN")
		}
		classes, all, _, err := w.operands(sc, e.Lexpr, bounds.Items[0], bounds.Items[1])
		return all && sameClass(classes...), err
	default:
		return false, w.fail("%s", strings.TrimPrefix(e.Kind.String(), "AEXPR_"))
	}
}

// operatorName returns an unqualified operator's name; OPERATOR(schema.op)
// is refused.
func (w *walker) operatorName(name []*pg.Node) (string, error) {
	if len(name) != 1 || name[0].GetString_() == nil {
		return "", w.fail("qualified operator")
	}
	return name[0].GetString_().Sval, nil
}

// values vets the right side of = ANY (...): safe when it is a parameter,
// a constant or an ARRAY[...] of them.
func (w *walker) values(n *pg.Node, sc []level) (bool, error) {
	items := []*pg.Node{n}
	if arr := n.GetAArrayExpr(); arr != nil {
		items = arr.Elements
	}
	classes, all, _, err := w.operands(sc, items...)
	for _, c := range classes {
		all = all && c == "" // no column: an array column's elements are not checked
	}
	return all, err
}

// pattern reports whether a LIKE pattern cannot fail on any subject: a
// constant that does not end in an escape (PostgreSQL raises only when
// the match reaches it, so on some rows), or a parameter, whose argument
// vet checks on every call.
func (w *walker) pattern(n *pg.Node) bool {
	switch x := n.GetNode().(type) {
	case *pg.Node_ParamRef:
		w.patterns = append(w.patterns, x.ParamRef.Number)
		return true
	case *pg.Node_AConst:
		s := x.AConst.GetSval()
		return s != nil && wellFormedPattern(s.Sval)
	}
	return false
}

// wellFormedPattern: no odd run of backslashes at the end.
func wellFormedPattern(p string) bool {
	n := 0
	for i := len(p) - 1; i >= 0 && p[i] == '\\'; i-- {
		n++
	}
	return n%2 == 0
}

func (w *walker) param(p *pg.ParamRef) error {
	if p.Number < 1 || p.Number >= maxCallerParam {
		return w.fail("placeholder $%d", p.Number)
	}
	w.maxParam = max(w.maxParam, p.Number)
	return nil
}

// column resolves a column reference as PostgreSQL does (the innermost
// query level first) and returns its class. A name that is no column of a
// relation in scope is refused: it could call a function (attribute
// notation, c.row_to_json) or name a whole row (c, c.*).
func (w *walker) column(c *pg.ColumnRef, sc []level) (string, error) {
	names := make([]string, len(c.Fields))
	for i, f := range c.Fields {
		s := f.GetString_()
		if s == nil {
			return "", w.fail("whole-row reference (.*)")
		}
		names[i] = s.Sval
	}
	switch len(names) {
	case 1:
		for i := len(sc) - 1; i >= 0; i-- {
			for _, r := range sc[i] {
				if class, ok := r.node.Columns[names[0]]; ok {
					return class, nil
				}
			}
		}
		return "", w.fail("%q is not a column in scope (a whole row or a function?)", names[0])
	case 2:
		for i := len(sc) - 1; i >= 0; i-- {
			for _, r := range sc[i] {
				if r.name != names[0] {
					continue
				}
				if class, ok := r.node.Columns[names[1]]; ok {
					return class, nil
				}
				return "", w.fail("%q is not a column of %q (attribute notation calls a function)", names[1], names[0])
			}
		}
		return "", w.fail("no relation %q in scope", names[0])
	default:
		return "", w.fail("qualified name %q", strings.Join(names, "."))
	}
}

func (w *walker) typeName(t *pg.TypeName) error {
	if t == nil || t.Setof || t.PctType {
		return w.fail("type")
	}
	var names []string
	for _, n := range t.Names {
		names = append(names, n.GetString_().GetSval())
	}
	if len(names) == 0 {
		return w.fail("type")
	}
	name := names[len(names)-1]
	if len(names) > 2 || len(names) == 2 && names[0] != "pg_catalog" || !allowedTypes[name] {
		return w.fail("cast to %q", strings.Join(names, "."))
	}
	for _, m := range t.Typmods {
		if m.GetAConst() == nil {
			return w.fail("type modifier")
		}
	}
	return nil
}

func (w *walker) funcCall(f *pg.FuncCall, sc []level) error {
	var names []string
	for _, n := range f.Funcname {
		names = append(names, n.GetString_().GetSval())
	}
	name := strings.Join(names, ".")
	switch {
	case len(names) == 1 && allowedFuncs[names[0]]:
	case len(names) == 2 && names[0] == "pg_catalog" && catalogFuncs[names[1]]:
	default:
		return w.fail("call of function %q", name)
	}
	if f.Over != nil || f.AggWithinGroup || f.FuncVariadic {
		return w.fail("window, ordered-set or variadic call of %q", name)
	}
	for _, s := range f.AggOrder {
		if _, err := w.sortBy(s, sc); err != nil {
			return err
		}
	}
	return w.exprs(sc, append(f.Args, f.AggFilter)...)
}

// sortBy vets an ORDER BY item; safe when it orders by an operand.
func (w *walker) sortBy(n *pg.Node, sc []level) (bool, error) {
	s := n.GetSortBy()
	if s == nil || len(s.UseOp) > 0 || s.SortbyDir == pg.SortByDir_SORTBY_USING {
		return false, w.fail("ORDER BY ... USING")
	}
	_, ok, _, err := w.operand(s.Node, sc)
	return ok, err
}

func (w *walker) subLink(l *pg.SubLink, sc []level) (bool, error) {
	sel := l.Subselect.GetSelectStmt()
	if sel == nil {
		return false, w.fail("malformed sub-select")
	}
	switch l.SubLinkType {
	case pg.SubLinkType_EXISTS_SUBLINK:
		safe, _, _, err := w.selectStmt(sel, sc)
		return safe, err
	case pg.SubLinkType_ANY_SUBLINK, pg.SubLinkType_ALL_SUBLINK:
		if len(l.OperName) > 0 {
			op, err := w.operatorName(l.OperName)
			if err != nil {
				return false, err
			}
			if !comparisons[op] {
				return false, w.fail("operator %q with a sub-select", op)
			}
		}
		lc, lok, _, err := w.operand(l.Testexpr, sc)
		if err != nil {
			return false, err
		}
		safe, out, single, err := w.selectStmt(sel, sc)
		return safe && lok && single && sameClass(lc, out), err
	case pg.SubLinkType_EXPR_SUBLINK, pg.SubLinkType_ARRAY_SUBLINK:
		_, _, _, err := w.selectStmt(sel, sc)
		return false, err
	default:
		return false, w.fail("%s", strings.TrimSuffix(l.SubLinkType.String(), "_SUBLINK"))
	}
}

// selectStmt vets a sub-select and rewrites its relations (tenant
// viewers). It reports whether every expression in it is safe and, when it
// returns one operand, that operand's class.
func (w *walker) selectStmt(s *pg.SelectStmt, sc []level) (safe bool, out string, single bool, err error) {
	switch {
	case len(s.LockingClause) > 0:
		return false, "", false, w.fail("locking clause (FOR UPDATE/SHARE)")
	case s.WithClause != nil:
		return false, "", false, w.fail("WITH")
	case s.Op != pg.SetOperation_SETOP_NONE:
		return false, "", false, w.fail("UNION/INTERSECT/EXCEPT")
	case len(s.ValuesLists) > 0:
		return false, "", false, w.fail("VALUES")
	case s.IntoClause != nil:
		return false, "", false, w.fail("SELECT INTO")
	case len(s.WindowClause) > 0:
		return false, "", false, w.fail("WINDOW")
	case len(s.FromClause) == 0:
		return false, "", false, w.fail("sub-select without FROM")
	}
	from := make(level, 0, len(s.FromClause))
	for _, item := range s.FromClause {
		r, err := w.relation(item)
		if err != nil {
			return false, "", false, err
		}
		from = append(from, r)
	}
	inner := append(sc[:len(sc):len(sc)], from)
	safe = len(s.GroupClause) == 0 && s.HavingClause == nil && len(s.DistinctClause) == 0
	note := func(ok bool, err error) error {
		safe = safe && ok
		return err
	}
	for _, t := range s.TargetList {
		rt := t.GetResTarget()
		if rt == nil || len(rt.Indirection) > 0 {
			return false, "", false, w.fail("malformed select list")
		}
		if w.star(rt.Val, from) {
			continue
		}
		class, _, ok, err := w.operand(rt.Val, inner)
		if err != nil {
			return false, "", false, err
		}
		safe = safe && ok
		out = class
	}
	single = len(s.TargetList) == 1 && !w.star(s.TargetList[0].GetResTarget().Val, from)
	if s.WhereClause != nil {
		if err := note(w.expr(s.WhereClause, inner)); err != nil {
			return false, "", false, err
		}
	}
	for _, n := range s.SortClause {
		if err := note(w.sortBy(n, inner)); err != nil {
			return false, "", false, err
		}
	}
	for _, n := range []*pg.Node{s.LimitCount, s.LimitOffset} {
		if n != nil {
			if err := note(w.limit(n, inner)); err != nil {
				return false, "", false, err
			}
		}
	}
	for _, n := range append(append(s.GroupClause, s.HavingClause), s.DistinctClause...) {
		if n.GetNode() != nil { // DISTINCT is a list holding one empty node
			if err := w.exprs(inner, n); err != nil {
				return false, "", false, err
			}
		}
	}
	if w.class != classSystem {
		for i, r := range from {
			s.FromClause[i] = w.scoped(r, !safe)
		}
	}
	return safe, out, single, nil
}

// limit vets LIMIT/OFFSET: safe when a parameter or constant.
func (w *walker) limit(n *pg.Node, sc []level) (bool, error) {
	class, ok, _, err := w.operand(n, sc)
	return ok && class == "", err
}

// star reports whether n is * or rel.* for a relation of this level (a
// select list item that expands to columns).
func (w *walker) star(n *pg.Node, from level) bool {
	c := n.GetColumnRef()
	if c == nil || len(c.Fields) == 0 || c.Fields[len(c.Fields)-1].GetAStar() == nil {
		return false
	}
	switch len(c.Fields) {
	case 1:
		return true
	case 2:
		for _, r := range from {
			if r.name == c.Fields[0].GetString_().GetSval() {
				return true
			}
		}
	}
	return false
}

// relation vets a FROM item: a plain, unqualified reference to an
// entity's table the viewer may read. Everything else that can produce
// rows (derived tables, joins, functions, other schemas, the catalog) is
// refused.
func (w *walker) relation(item *pg.Node) (relation, error) {
	rv := item.GetRangeVar()
	switch {
	case item.GetRangeSubselect() != nil:
		return relation{}, w.fail("derived table in FROM")
	case item.GetRangeFunction() != nil:
		return relation{}, w.fail("function in FROM")
	case item.GetJoinExpr() != nil:
		return relation{}, w.fail("JOIN")
	case rv == nil:
		return relation{}, w.fail("%s in FROM", nodeName(item))
	case rv.Catalogname != "" || rv.Schemaname != "":
		return relation{}, w.fail("relation in schema %q", rv.Schemaname)
	case !rv.Inh:
		return relation{}, w.fail("ONLY")
	}
	n, ok := LookupTable(rv.Relname)
	if !ok || n.Kind == "" && w.class != classSystem {
		return relation{}, w.fail("relation %q is not an entity's table", rv.Relname)
	}
	r := relation{name: rv.Relname, node: n}
	if rv.Alias != nil {
		if len(rv.Alias.Colnames) > 0 {
			return relation{}, w.fail("column aliases")
		}
		r.name = rv.Alias.Aliasname
	}
	return r, nil
}

// scoped is r seen through the viewer: a derived table of the viewer's
// rows of r's table, under r's name; fenced (OFFSET 0) when the query
// level has an expression that is not safe.
func (w *walker) scoped(r relation, fence bool) *pg.Node {
	inner := &pg.SelectStmt{
		TargetList:  []*pg.Node{pg.MakeResTargetNodeWithVal(pg.MakeColumnRefNode([]*pg.Node{pg.MakeAStarNode()}, -1), -1)},
		FromClause:  []*pg.Node{pg.MakeSimpleRangeVarNode(r.node.Table, -1)},
		WhereClause: w.scope(r.node, r.node.Table),
		LimitOption: pg.LimitOption_LIMIT_OPTION_DEFAULT,
		Op:          pg.SetOperation_SETOP_NONE,
	}
	if fence {
		inner.LimitOffset = pg.MakeAConstIntNode(0, -1)
		inner.LimitOption = pg.LimitOption_LIMIT_OPTION_COUNT
	}
	return &pg.Node{Node: &pg.Node_RangeSubselect{RangeSubselect: &pg.RangeSubselect{
		Subquery: &pg.Node{Node: &pg.Node_SelectStmt{SelectStmt: inner}},
		Alias:    &pg.Alias{Aliasname: r.name},
	}}}
}

// template splits the printed fragment at its placeholders (found by
// PostgreSQL's own lexer) into the segments vet freezes.
func (w *walker) template(frag string) (*template, error) {
	toks, err := pg.Scan(frag)
	if err != nil {
		return nil, w.fail("printed text does not scan (%v)", err)
	}
	t := &template{maxParam: w.maxParam, patterns: w.patterns, src: frag}
	last := 0
	for _, tok := range toks.Tokens {
		if tok.Token != pg.Token_PARAM {
			continue
		}
		n, err := strconv.Atoi(frag[tok.Start+1 : tok.End])
		if err != nil || n < 1 || n >= maxCallerParam && n != viewerParam {
			return nil, w.fail("printed placeholder %q", frag[tok.Start:tok.End])
		}
		if n == viewerParam {
			n = 0
		}
		t.text = append(t.text, frag[last:tok.Start])
		t.refs = append(t.refs, n)
		last = int(tok.End)
	}
	t.text = append(t.text, frag[last:])
	return t, nil
}
