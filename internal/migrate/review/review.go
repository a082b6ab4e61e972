// Package review summarizes what pending migration files change, in
// Markdown to paste into a pull request.
package review

import (
	"bytes"
	"fmt"
	"strings"

	"ariga.io/atlas/sql/schema"

	"github.com/leadmetrics/db/internal/migrate/lint"
	"github.com/leadmetrics/db/internal/migrate/schemafmt"
)

// Item is one schema change a statement made.
type Item struct {
	Line   int    `json:"line"`
	Change string `json:"change"` // e.g. "added column"
	Object string `json:"object"` // e.g. "users.nickname"
	Detail string `json:"detail"`
}

// Items lists the changes of a linted file, statement by statement (a
// long first file of an empty history is one change at line 1).
func Items(f *lint.FileResult) []Item {
	var out []Item
	changes := f.Readable
	if changes == nil {
		changes = f.Changes
	}
	for _, c := range changes {
		line := lint.Line(f.Bytes(), c.Stmt.Pos)
		for _, it := range describe(c.Changes) {
			it.Line = line
			out = append(out, it)
		}
	}
	return out
}

func describe(changes schema.Changes) (out []Item) {
	for _, c := range changes {
		switch c := c.(type) {
		case *schema.AddSchema:
			out = append(out, Item{Change: "added schema", Object: c.S.Name})
		case *schema.DropSchema:
			out = append(out, Item{Change: "dropped schema", Object: c.S.Name})
		case *schema.AddTable:
			out = append(out, Item{Change: "added table", Object: c.T.Name, Detail: tableDetail(c.T)})
		case *schema.DropTable:
			out = append(out, Item{Change: "dropped table", Object: c.T.Name})
		case *schema.RenameTable:
			out = append(out, Item{Change: "renamed table", Object: c.From.Name, Detail: "to " + c.To.Name})
		case *schema.ModifyTable:
			out = append(out, describeTable(c)...)
		default:
			out = append(out, Item{Change: "changed", Object: strings.TrimPrefix(fmt.Sprintf("%T", c), "*schema.")})
		}
	}
	return out
}

func tableDetail(t *schema.Table) string {
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = c.Name + " " + schemafmt.Type(c)
	}
	s := fmt.Sprintf("%d columns (%s)", len(t.Columns), strings.Join(cols, ", "))
	if n := len(t.Indexes); n > 0 {
		s += fmt.Sprintf(", %d indexes", n)
	}
	if n := len(t.ForeignKeys); n > 0 {
		s += fmt.Sprintf(", %d foreign keys", n)
	}
	return s
}

func describeTable(m *schema.ModifyTable) (out []Item) {
	on := func(name string) string { return m.T.Name + "." + name }
	for _, c := range m.Changes {
		var it Item
		switch c := c.(type) {
		case *schema.AddColumn:
			it = Item{Change: "added column", Object: on(c.C.Name), Detail: schemafmt.Column(c.C)}
		case *schema.DropColumn:
			it = Item{Change: "dropped column", Object: on(c.C.Name), Detail: "was " + schemafmt.Column(c.C)}
		case *schema.ModifyColumn:
			it = Item{Change: "altered column", Object: on(c.To.Name), Detail: columnDelta(c)}
		case *schema.RenameColumn:
			it = Item{Change: "renamed column", Object: on(c.From.Name), Detail: "to " + c.To.Name}
		case *schema.AddIndex:
			it = Item{Change: "added index", Object: on(c.I.Name), Detail: schemafmt.Index(c.I)}
		case *schema.DropIndex:
			it = Item{Change: "dropped index", Object: on(c.I.Name), Detail: "was " + schemafmt.Index(c.I)}
		case *schema.ModifyIndex:
			it = Item{Change: "altered index", Object: on(c.To.Name), Detail: schemafmt.Index(c.From) + " → " + schemafmt.Index(c.To)}
		case *schema.RenameIndex:
			it = Item{Change: "renamed index", Object: on(c.From.Name), Detail: "to " + c.To.Name}
		case *schema.AddPrimaryKey:
			it = Item{Change: "added primary key", Object: m.T.Name, Detail: schemafmt.Parts(c.P.Parts)}
		case *schema.DropPrimaryKey:
			it = Item{Change: "dropped primary key", Object: m.T.Name, Detail: "was " + schemafmt.Parts(c.P.Parts)}
		case *schema.ModifyPrimaryKey:
			it = Item{Change: "altered primary key", Object: m.T.Name, Detail: schemafmt.Parts(c.From.Parts) + " → " + schemafmt.Parts(c.To.Parts)}
		case *schema.AddForeignKey:
			it = Item{Change: "added foreign key", Object: on(c.F.Symbol), Detail: schemafmt.ForeignKey(c.F)}
		case *schema.DropForeignKey:
			it = Item{Change: "dropped foreign key", Object: on(c.F.Symbol), Detail: "was " + schemafmt.ForeignKey(c.F)}
		case *schema.ModifyForeignKey:
			it = Item{Change: "altered foreign key", Object: on(c.To.Symbol), Detail: schemafmt.ForeignKey(c.From) + " → " + schemafmt.ForeignKey(c.To)}
		case *schema.AddCheck:
			it = Item{Change: "added check", Object: on(c.C.Name), Detail: c.C.Expr}
		case *schema.DropCheck:
			it = Item{Change: "dropped check", Object: on(c.C.Name), Detail: "was " + c.C.Expr}
		case *schema.ModifyCheck:
			it = Item{Change: "altered check", Object: on(c.To.Name), Detail: c.From.Expr + " → " + c.To.Expr}
		default:
			it = Item{Change: "altered table", Object: m.T.Name, Detail: strings.TrimPrefix(fmt.Sprintf("%T", c), "*schema.")}
		}
		out = append(out, it)
	}
	return out
}

// columnDelta says what a column modification changes.
func columnDelta(c *schema.ModifyColumn) string {
	var parts []string
	if c.Change.Is(schema.ChangeType) {
		parts = append(parts, "type "+schemafmt.Type(c.From)+" → "+schemafmt.Type(c.To))
	}
	if c.Change.Is(schema.ChangeNull) {
		if c.To.Type.Null {
			parts = append(parts, "NOT NULL → NULL")
		} else {
			parts = append(parts, "NULL → NOT NULL")
		}
	}
	if c.Change.Is(schema.ChangeDefault) {
		parts = append(parts, "default "+orNone(schemafmt.Expr(c.From.Default))+" → "+orNone(schemafmt.Expr(c.To.Default)))
	}
	if len(parts) == 0 {
		return schemafmt.Column(c.From) + " → " + schemafmt.Column(c.To)
	}
	return strings.Join(parts, "; ")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func findingRow(b *bytes.Buffer, d lint.Finding, severity string) {
	fmt.Fprintf(b, "| %d | [%s](%s) | %s | %s | %s |\n", d.Line, d.Code, lint.DocURL(d.Code),
		severity, schemafmt.Cell(d.Message), schemafmt.Cell(strings.Join(d.Fixes, " ")))
}

// Markdown renders the summary of res: per file, its schema changes, its
// lint findings and its SQL.
func Markdown(res *lint.Result) []byte {
	var b bytes.Buffer
	b.WriteString("## Migration review\n\n")
	if len(res.Files) == 0 {
		b.WriteString("No pending migration files.\n")
		return b.Bytes()
	}
	after := "on an empty database"
	if len(res.Base) > 0 {
		after = "after version " + res.Base[len(res.Base)-1].Version()
	}
	fmt.Fprintf(&b, "%d pending migration file(s) %s. Lint: **%d error(s)**, %d warning(s), %d acknowledged.\n",
		len(res.Files), after, res.Errors(), res.Warnings(), res.Acknowledged())
	for _, f := range res.Files {
		fmt.Fprintf(&b, "\n### `%s`\n\n", f.Name())
		if items := Items(f); len(items) > 0 {
			b.WriteString("| line | change | object | details |\n|---:|---|---|---|\n")
			for _, it := range items {
				fmt.Fprintf(&b, "| %d | %s | `%s` | %s |\n", it.Line, it.Change, it.Object, schemafmt.Cell(it.Detail))
			}
		} else {
			b.WriteString("No schema changes (data-only statements).\n")
		}
		switch {
		case f.Ignored:
			b.WriteString("\nLint: skipped by `-- atlas:nolint` in the file header.\n")
		case len(f.Findings) == 0 && len(f.Acknowledged) == 0:
			b.WriteString("\nLint: no findings.\n")
		}
		if len(f.Findings)+len(f.Acknowledged) > 0 {
			b.WriteString("\n| line | code | severity | finding | suggested fix |\n|---:|---|---|---|---|\n")
			for _, d := range f.Findings {
				findingRow(&b, d, d.Severity())
			}
			for _, d := range f.Acknowledged {
				findingRow(&b, d, "acknowledged "+d.Severity()+" (`atlas:nolint`)")
			}
		}
		fmt.Fprintf(&b, "\n<details><summary>SQL</summary>\n\n```sql\n%s\n```\n\n</details>\n", strings.TrimRight(string(f.Bytes()), "\n"))
	}
	return b.Bytes()
}
