// Package lint analyzes new migration files like the official
// `atlas migrate lint`, on the open-source analyzers plus our locking checks.
package lint

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	_ "ariga.io/atlas/sql/postgres/postgrescheck" // registers the open-source PostgreSQL analyzers
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlcheck"
	"ariga.io/atlas/sql/sqlclient"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	"github.com/leadmetrics/db/internal/migrate/dev"
)

// Finding is one diagnostic of an analyzer on a statement.
type Finding struct {
	File     string   // file name, e.g. 20261201000000_add_x.sql
	Line     int      // 1-based line of the statement
	Pos      int      // byte offset of the statement
	Code     string   // e.g. DS103, LM101
	Analyzer string   // destructive, data_depend, incompatible, condrop, locking, txmode
	Report   string   // the analyzer's heading, e.g. "destructive changes detected"
	Message  string   // the diagnostic, in the analyzer's wording
	Fixes    []string // suggested fixes
	Error    bool     // the analyzer fails the lint on it (else a warning)
}

// FileResult is the analysis of one new file.
type FileResult struct {
	*sqlcheck.File           // the file, its per-statement changes and the states around it
	Findings       []Finding // in statement order per analyzer, analyzers in Analyzers order
	Ignored        bool      // a bare "-- atlas:nolint" in the header skipped the file
	// Acknowledged are the findings "atlas:nolint" silenced (all of them
	// when Ignored): they do not count, but reviewers still see them.
	// Error says what they would have been.
	Acknowledged []Finding
	// Readable are the file's changes with each RENAME statement's drop and
	// add read as the rename it is (the analyzers' Changes keep the drop and
	// add, as the community CLI sees them): what a reviewer reads.
	Readable []*sqlcheck.Change
}

// Result is the analysis of the new files on top of the base ones.
type Result struct {
	Base  []migrate.File // replayed, not analyzed
	Files []*FileResult
}

// Errors counts the findings that fail the lint.
func (r *Result) Errors() int { return r.count(true) }

// Acknowledged counts the findings silenced by atlas:nolint.
func (r *Result) Acknowledged() int {
	n := 0
	for _, f := range r.Files {
		n += len(f.Acknowledged)
	}
	return n
}

// Warnings counts the other findings.
func (r *Result) Warnings() int { return r.count(false) }

func (r *Result) count(errs bool) int {
	n := 0
	for _, f := range r.Files {
		for _, d := range f.Findings {
			if d.Error == errs {
				n++
			}
		}
	}
	return n
}

// ErrFindings is returned (wrapped) by Err when a finding is an error.
var ErrFindings = errors.New("migration lint found errors")

// Err is non-nil when the lint should fail.
func (r *Result) Err() error {
	if n := r.Errors(); n > 0 {
		return fmt.Errorf("lint: %w (%d error(s), %d warning(s))", ErrFindings, n, r.Warnings())
	}
	return nil
}

// Run replays base on the clean dev database devURL, then executes files
// statement by statement and analyzes each. The dev database is restored
// to its clean state afterwards.
func Run(ctx context.Context, devURL string, base, files []migrate.File) (_ *Result, err error) {
	db, drv, err := dev.Open(devURL)
	if err != nil {
		return nil, fmt.Errorf("lint: %w", err)
	}
	defer db.Close()
	// The CLI's lock: two linters sharing one dev database would see each
	// other's tables.
	unlock, err := drv.(schema.Locker).Lock(ctx, "atlas_lint", 0)
	if err != nil {
		return nil, fmt.Errorf("lint: lock dev database: %w", err)
	}
	defer unlock()
	restore, err := drv.(migrate.Snapshoter).Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("lint: the dev database must be clean: %w", err)
	}
	defer func() {
		if rerr := restore(context.WithoutCancel(ctx)); rerr != nil {
			err = errors.Join(err, fmt.Errorf("lint: restore dev database: %w", rerr))
		}
	}()

	l := &loader{db: db, drv: drv}
	if err := l.replay(ctx, base); err != nil {
		return nil, err
	}
	loaded, err := l.load(ctx, files, len(base) == 0)
	if err != nil {
		return nil, err
	}
	azs, err := Analyzers(l.rewrites)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(devURL)
	devClient := &sqlclient.Client{Name: postgres.DriverName, DB: db, URL: &sqlclient.URL{URL: u}, Driver: drv}
	incompat, err := incompatible()
	if err != nil {
		return nil, err
	}
	res := &Result{Base: base}
	for _, f := range loaded {
		fr, err := analyze(ctx, devClient, azs, f)
		if err != nil {
			return nil, err
		}
		fr.Readable = f.Changes
		if renames := l.renames[f.Name()]; len(renames) > 0 {
			fr.Readable = make([]*sqlcheck.Change, len(f.Changes))
			for i, c := range f.Changes {
				fr.Readable[i] = c
				if fixed, ok := renames[c.Stmt.Pos]; ok {
					fr.Readable[i] = &sqlcheck.Change{Stmt: c.Stmt, Changes: fixed}
				}
			}
		}
		if renames := l.renames[f.Name()]; len(renames) > 0 && !fr.Ignored {
			// On top: the renames the community CLI reads as drops, read
			// as renames by Atlas's own backward-incompatible analyzer.
			rf := *f
			rf.Changes = make([]*sqlcheck.Change, 0, len(f.Changes))
			for _, c := range f.Changes {
				if fixed, ok := renames[c.Stmt.Pos]; ok {
					rf.Changes = append(rf.Changes, &sqlcheck.Change{Stmt: c.Stmt, Changes: fixed})
				}
			}
			more, err := analyze(ctx, devClient, []sqlcheck.Analyzer{incompat}, &rf)
			if err != nil {
				return nil, err
			}
			fr.Findings = sortedByPos(append(fr.Findings, more.Findings...))
			fr.Acknowledged = sortedByPos(append(fr.Acknowledged, more.Acknowledged...))
		}
		res.Files = append(res.Files, fr)
	}
	return res, nil
}

// incompatible is Atlas's backward-incompatible analyzer (BC101, BC102).
func incompatible() (sqlcheck.Analyzer, error) {
	azs, err := sqlcheck.AnalyzerFor(postgres.DriverName, nil)
	if err != nil {
		return nil, err
	}
	for _, az := range azs {
		if n, ok := az.(sqlcheck.NamedAnalyzer); ok && n.Name() == "incompatible" {
			return az, nil
		}
	}
	return nil, errors.New("lint: no backward-incompatible analyzer registered")
}

func sortedByPos(fs []Finding) []Finding {
	slices.SortStableFunc(fs, func(a, b Finding) int { return a.Pos - b.Pos })
	return fs
}

// Analyzers returns the open-source PostgreSQL analyzers with their
// default options (destructive changes are errors, the others warnings),
// then ours.
func Analyzers(rewrites map[string]map[int][]string) ([]sqlcheck.Analyzer, error) {
	azs, err := sqlcheck.AnalyzerFor(postgres.DriverName, nil)
	if err != nil {
		return nil, err
	}
	if len(azs) == 0 {
		return nil, errors.New("lint: no PostgreSQL analyzers registered")
	}
	return append(azs, &locking{rewrites: rewrites}, txmode{}), nil
}

// analyze runs every analyzer on f, setting aside the findings its nolint
// directives acknowledge. As in the CLI, an analyzer's error counts only
// when some of its findings survived.
func analyze(ctx context.Context, devClient *sqlclient.Client, azs []sqlcheck.Analyzer, f *sqlcheck.File) (*FileResult, error) {
	fr := &FileResult{File: f}
	nl := readNolint(f)
	fr.Ignored = nl.ignored
	for _, az := range azs {
		var name string
		if n, ok := az.(sqlcheck.NamedAnalyzer); ok {
			name = n.Name()
		}
		var (
			found, acked []Finding
			reported     bool
		)
		err := az.Analyze(ctx, &sqlcheck.Pass{File: f, Dev: devClient, Reporter: sqlcheck.ReportWriterFunc(func(r sqlcheck.Report) {
			reported = true
			for _, d := range r.Diagnostics {
				fd := Finding{
					File: f.Name(), Line: Line(f.Bytes(), d.Pos), Pos: d.Pos, Code: d.Code, Analyzer: name,
					Report: r.Text, Message: d.Text, Fixes: fixes(r, d),
				}
				if nl.ignored || nl.silenced(d.Pos, d.Code, name) {
					acked = append(acked, fd)
				} else {
					found = append(found, fd)
				}
			}
		})})
		if err != nil && !reported {
			return nil, fmt.Errorf("lint: analyzer %s on %s: %w", name, f.Name(), err)
		}
		if err != nil && len(found) > 0 {
			for i := range found {
				found[i].Error = true
			}
		}
		for i := range acked {
			acked[i].Error = err != nil
		}
		fr.Findings = append(fr.Findings, found...)
		fr.Acknowledged = append(fr.Acknowledged, acked...)
	}
	fr.Findings, fr.Acknowledged = sortedByPos(fr.Findings), sortedByPos(fr.Acknowledged)
	return fr, nil
}

// extraFixes are our suggested fixes for the open-source diagnostics that
// come without one.
var extraFixes = map[string]string{
	"MF101": "Check for duplicates first (SELECT ... GROUP BY ... HAVING count(*) > 1) and clean them up in an earlier migration",
	"MF102": "Check for duplicates first (SELECT ... GROUP BY ... HAVING count(*) > 1) and clean them up in an earlier migration",
	"MF103": "Give the column a DEFAULT, or add it as nullable, backfill it, and SET NOT NULL in a later migration",
	"MF104": "Backfill the NULL rows (UPDATE ... WHERE col IS NULL) before setting NOT NULL",
	"BC101": "Deployed code still uses the old name: keep a view with the old name until every reader is updated, or rename in an expand and contract sequence",
	"BC102": "Deployed code still uses the old name: add the new column, backfill and dual-write, switch readers, then drop the old column later",
	"CD101": "Make sure the application (or another constraint) keeps the relation valid once the foreign key is gone",
}

// fixes are the diagnostic's suggested fixes, else the report's, else ours.
func fixes(r sqlcheck.Report, d sqlcheck.Diagnostic) []string {
	var out []string
	for _, x := range d.SuggestedFixes {
		if x.Message != "" {
			out = append(out, x.Message)
		}
	}
	if len(out) == 0 {
		for _, x := range r.SuggestedFixes {
			if x.Message != "" {
				out = append(out, x.Message)
			}
		}
	}
	if x, ok := extraFixes[d.Code]; ok && len(out) == 0 {
		out = append(out, x)
	}
	return out
}
