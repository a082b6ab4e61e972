// Package schemafmt renders inspected schema objects as short SQL-like
// text, for the review summary, the ER document and lint messages.
package schemafmt

import (
	"fmt"
	"strings"

	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
)

// Type is the column's PostgreSQL type, e.g. "character varying(25)".
func Type(c *schema.Column) string {
	if c.Type == nil || c.Type.Type == nil {
		return ""
	}
	if s, err := postgres.FormatType(c.Type.Type); err == nil {
		return s
	}
	return c.Type.Raw
}

// Column is "type NULL|NOT NULL [DEFAULT x]".
func Column(c *schema.Column) string {
	s := Type(c) + " NOT NULL"
	if c.Type != nil && c.Type.Null {
		s = Type(c) + " NULL"
	}
	if d := Expr(c.Default); d != "" {
		s += " DEFAULT " + d
	}
	return s
}

// Expr renders a default or generated expression.
func Expr(x schema.Expr) string {
	switch x := x.(type) {
	case *schema.RawExpr:
		return x.X
	case *schema.Literal:
		return x.V
	}
	return ""
}

// Parts is "(a, b DESC, lower(c))".
func Parts(parts []*schema.IndexPart) string {
	cols := make([]string, 0, len(parts))
	for _, p := range parts {
		var s string
		switch {
		case p.C != nil:
			s = p.C.Name
		case p.X != nil:
			s = Expr(p.X)
		}
		if p.Desc {
			s += " DESC"
		}
		cols = append(cols, s)
	}
	return "(" + strings.Join(cols, ", ") + ")"
}

// Predicate is a partial index's WHERE clause, or "".
func Predicate(idx *schema.Index) string {
	for _, a := range idx.Attrs {
		if p, ok := a.(*postgres.IndexPredicate); ok {
			return p.P
		}
	}
	return ""
}

// Index is "UNIQUE (a, b) WHERE p".
func Index(idx *schema.Index) string {
	s := Parts(idx.Parts)
	if idx.Unique {
		s = "UNIQUE " + s
	}
	if p := Predicate(idx); p != "" {
		s += " WHERE " + p
	}
	return s
}

// Columns is "a, b".
func Columns(cs []*schema.Column) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// ForeignKey is "(a) REFERENCES t (id) ON DELETE SET NULL".
func ForeignKey(fk *schema.ForeignKey) string {
	s := fmt.Sprintf("(%s) REFERENCES %s (%s)", Columns(fk.Columns), fk.RefTable.Name, Columns(fk.RefColumns))
	if fk.OnDelete != "" && fk.OnDelete != schema.NoAction {
		s += " ON DELETE " + string(fk.OnDelete)
	}
	if fk.OnUpdate != "" && fk.OnUpdate != schema.NoAction {
		s += " ON UPDATE " + string(fk.OnUpdate)
	}
	return s
}

// Checks returns the table's CHECK constraints.
func Checks(t *schema.Table) []*schema.Check {
	var out []*schema.Check
	for _, a := range t.Attrs {
		if c, ok := a.(*schema.Check); ok {
			out = append(out, c)
		}
	}
	return out
}

// Cell escapes text for a Markdown table cell.
func Cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
