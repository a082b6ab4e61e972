package lint

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlcheck"

	"github.com/leadmetrics/db/internal/migrate/schemafmt"
)

// Our own checks carry the LM prefix (Leadmetrics): the open-source
// analyzers use DS, MF, BC and CD, and Atlas's paid ones use PG, NM and
// others. sqlcheck.Code panics on a duplicate, so a clash would show at
// start-up.
var (
	CodeIndexNotConcurrent = sqlcheck.Code("LM101") // CREATE INDEX without CONCURRENTLY on an existing table
	CodeColumnRewrite      = sqlcheck.Code("LM102") // ADD COLUMN that rewrites the table (volatile default)
	CodeTypeRewrite        = sqlcheck.Code("LM103") // ALTER COLUMN TYPE (or another statement) that rewrites the table
	CodeConcurrentInTx     = sqlcheck.Code("LM104") // CONCURRENTLY in a file that runs in a transaction
)

var (
	createIndexConcurrently = regexp.MustCompile(`(?is)^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\b`)
	usingIndex              = regexp.MustCompile(`(?is)\bUSING\s+INDEX\b`)
	concurrently            = regexp.MustCompile(`(?is)^\s*(?:CREATE\s+(?:UNIQUE\s+)?INDEX|DROP\s+INDEX|REINDEX\b.*|REFRESH\s+MATERIALIZED\s+VIEW)\s+CONCURRENTLY\b`)
	truncate                = regexp.MustCompile(`(?is)^\s*TRUNCATE\b`)
)

// locking flags statements that hold a lock on a busy table for long:
// LM101, LM102, LM103. Findings are warnings: whether the lock hurts depends
// on the table's size and traffic, which only the reviewer knows.
type locking struct {
	// rewrites from the loader: file name -> statement position -> tables.
	rewrites map[string]map[int][]string
}

func (*locking) Name() string { return "locking" }

func (a *locking) Analyze(_ context.Context, p *sqlcheck.Pass) error {
	var diags []sqlcheck.Diagnostic
	for _, sc := range p.File.Changes {
		diags = append(diags, a.indexes(p, sc)...)
		diags = append(diags, a.tableRewrites(p, sc)...)
	}
	if len(diags) > 0 {
		p.Reporter.WriteReport(sqlcheck.Report{Text: "table locking changes detected", Diagnostics: diags})
	}
	return nil
}

// indexes reports indexes built on a table of an earlier file without
// CONCURRENTLY: the build blocks writes for its whole duration.
func (a *locking) indexes(p *sqlcheck.Pass, sc *sqlcheck.Change) (diags []sqlcheck.Diagnostic) {
	if createIndexConcurrently.MatchString(sc.Stmt.Text) || usingIndex.MatchString(sc.Stmt.Text) {
		return nil
	}
	for _, c := range sc.Changes {
		m, ok := c.(*schema.ModifyTable)
		if !ok || p.File.TableSpan(m.T)&sqlcheck.SpanAdded != 0 {
			continue
		}
		for _, mc := range m.Changes {
			var name string
			switch mc := mc.(type) {
			case *schema.AddIndex:
				name = mc.I.Name
			case *schema.AddPrimaryKey:
				name = "primary key"
			default:
				continue
			}
			diags = append(diags, sqlcheck.Diagnostic{
				Pos:  sc.Stmt.Pos,
				Code: CodeIndexNotConcurrent,
				Text: fmt.Sprintf("Creating index %q on existing table %q without CONCURRENTLY blocks writes to the table while the index builds", name, m.T.Name),
				SuggestedFixes: []sqlcheck.SuggestedFix{{Message: fmt.Sprintf(
					"Build it with CREATE INDEX CONCURRENTLY in a migration file of its own whose header is %q "+
						"(CONCURRENTLY cannot run in a transaction); precede it with DROP INDEX CONCURRENTLY IF EXISTS "+
						"so that a retry after a failed build starts clean", "-- atlas:txmode none")}},
			})
		}
	}
	return diags
}

// tableRewrites reports statements that made PostgreSQL rewrite a table of an
// earlier file (copying every row under an ACCESS EXCLUSIVE lock).
func (a *locking) tableRewrites(p *sqlcheck.Pass, sc *sqlcheck.Change) (diags []sqlcheck.Diagnostic) {
	if truncate.MatchString(sc.Stmt.Text) {
		return nil // a new, empty file: no rows are copied
	}
	for _, qualified := range a.rewrites[p.File.Name()][sc.Stmt.Pos] {
		t := findTable(p.File.From, qualified)
		if t == nil {
			continue // created in this file: empty, nothing to copy
		}
		var explained bool
		for _, c := range sc.Changes {
			m, ok := c.(*schema.ModifyTable)
			if !ok || m.T.Name != t.Name || m.T.Schema.Name != t.Schema.Name {
				continue
			}
			for _, mc := range m.Changes {
				switch mc := mc.(type) {
				case *schema.AddColumn:
					explained = true
					diags = append(diags, addColumnRewrite(sc, t, mc.C))
				case *schema.ModifyColumn:
					if mc.Change.Is(schema.ChangeType) {
						explained = true
						diags = append(diags, typeRewrite(sc, t, mc))
					}
				}
			}
		}
		if !explained {
			diags = append(diags, sqlcheck.Diagnostic{
				Pos:            sc.Stmt.Pos,
				Code:           CodeTypeRewrite,
				Text:           fmt.Sprintf("Statement rewrites table %q while holding an ACCESS EXCLUSIVE lock", t.Name),
				SuggestedFixes: []sqlcheck.SuggestedFix{{Message: expandContract}},
			})
		}
	}
	return diags
}

const expandContract = "Expand and contract instead: add a new column of the target type, backfill it in batches " +
	"outside the migration, switch the application over, then drop the old column in a later migration " +
	"(widening varchar(n), varchar to text, or raising numeric precision does not rewrite)"

func addColumnRewrite(sc *sqlcheck.Change, t *schema.Table, c *schema.Column) sqlcheck.Diagnostic {
	text := fmt.Sprintf("Adding column %q rewrites table %q while holding an ACCESS EXCLUSIVE lock", c.Name, t.Name)
	if def := schemafmt.Expr(c.Default); def != "" {
		text = fmt.Sprintf("Adding column %q with the volatile default %s rewrites table %q while holding an ACCESS EXCLUSIVE lock", c.Name, def, t.Name)
	}
	return sqlcheck.Diagnostic{
		Pos:  sc.Stmt.Pos,
		Code: CodeColumnRewrite,
		Text: text,
		SuggestedFixes: []sqlcheck.SuggestedFix{{Message: "Add the column without a default (a constant default is " +
			"free since PostgreSQL 11), set the default for new rows with ALTER COLUMN ... SET DEFAULT in a second " +
			"statement, and backfill the existing rows in batches outside the migration"}},
	}
}

func typeRewrite(sc *sqlcheck.Change, t *schema.Table, mc *schema.ModifyColumn) sqlcheck.Diagnostic {
	from, to := schemafmt.Type(mc.From), schemafmt.Type(mc.To)
	return sqlcheck.Diagnostic{
		Pos:            sc.Stmt.Pos,
		Code:           CodeTypeRewrite,
		Text:           fmt.Sprintf("Changing the type of column %q from %s to %s rewrites table %q and its indexes while holding an ACCESS EXCLUSIVE lock", mc.To.Name, from, to, t.Name),
		SuggestedFixes: []sqlcheck.SuggestedFix{{Message: expandContract}},
	}
}

// txmode flags CONCURRENTLY statements in a file that runs in a
// transaction (LM104): PostgreSQL refuses them there, so apply would fail.
// The dev database runs statements without a transaction, so replay alone
// would not notice. An error.
type txmode struct{}

func (txmode) Name() string { return "txmode" }

func (txmode) Analyze(_ context.Context, p *sqlcheck.Pass) error {
	if lf, ok := p.File.File.(*migrate.LocalFile); ok && slices.Contains(lf.Directive("txmode"), "none") {
		return nil
	}
	var diags []sqlcheck.Diagnostic
	for _, sc := range p.File.Changes {
		if sc.Stmt.Text == "" || !concurrently.MatchString(sc.Stmt.Text) {
			continue
		}
		diags = append(diags, sqlcheck.Diagnostic{
			Pos:  sc.Stmt.Pos,
			Code: CodeConcurrentInTx,
			Text: "CONCURRENTLY cannot run inside a transaction block, and this file runs in one: apply will fail",
			SuggestedFixes: []sqlcheck.SuggestedFix{{Message: fmt.Sprintf("Start the file with the header %q followed "+
				"by a blank line, and keep the concurrent statement in a file of its own (without a transaction, "+
				"a failure leaves the statements before it applied)", "-- atlas:txmode none")}},
		})
	}
	if len(diags) == 0 {
		return nil
	}
	const text = "transaction mode problems detected"
	p.Reporter.WriteReport(sqlcheck.Report{Text: text, Diagnostics: diags})
	return errors.New(text)
}

// findTable looks a "schema.table" name up in r.
func findTable(r *schema.Realm, qualified string) *schema.Table {
	if r == nil {
		return nil
	}
	for _, s := range r.Schemas {
		for _, t := range s.Tables {
			if s.Name+"."+t.Name == qualified {
				return t
			}
		}
	}
	return nil
}
