package lint

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlcheck"
)

// LoadError is a file that could not be replayed on the dev database: the
// migration itself is broken, so nothing after it can be analyzed.
type LoadError struct {
	File string
	Line int
	Stmt string
	Err  error
}

func (e *LoadError) Error() string {
	if e.Stmt == "" {
		return fmt.Sprintf("lint: %s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("lint: %s:%d: executing %q: %v", e.File, e.Line, e.Stmt, e.Err)
}

func (e *LoadError) Unwrap() error { return e.Err }

// firstFileStmtLoop mirrors the CLI: the first file of an empty history
// (a baseline creating everything) is diffed as a whole when it is long,
// since per-statement analysis of CREATE TABLEs finds nothing.
const firstFileStmtLoop = 10

// loader replays migration files on a clean dev database and records, per
// statement, the schema changes it made (inspect, execute, inspect, diff),
// which is what the CLI's internal dev loader does. It also records which
// existing tables a statement rewrote: PostgreSQL gives a table a new
// relfilenode exactly when it rewrites it, so its own decision is observed
// instead of guessed.
type loader struct {
	db  *sql.DB
	drv migrate.Driver
	// rewrites maps a file name and statement position to the tables
	// (schema.table) the statement rewrote.
	rewrites map[string]map[int][]string
	// renames maps a file name and the position of a RENAME statement to its
	// changes with the drop and add it made read as the rename it is.
	renames map[string]map[int]schema.Changes
}

// replay executes the base files without analysis.
func (l *loader) replay(ctx context.Context, files []migrate.File) error {
	for _, f := range files {
		stmts, err := migrate.FileStmtDecls(l.drv, f)
		if err != nil {
			return &LoadError{File: f.Name(), Err: err}
		}
		for _, s := range stmts {
			if _, err := l.db.ExecContext(ctx, s.Text); err != nil {
				return &LoadError{File: f.Name(), Line: Line(f.Bytes(), s.Pos), Stmt: s.Text, Err: err}
			}
		}
	}
	return nil
}

// load executes files one statement at a time and returns them with their
// changes; first tells that nothing precedes files[0].
func (l *loader) load(ctx context.Context, files []migrate.File, first bool) ([]*sqlcheck.File, error) {
	current, err := l.inspect(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*sqlcheck.File, len(files))
	for i, f := range files {
		stmts, err := migrate.FileStmtDecls(l.drv, f)
		if err != nil {
			return nil, &LoadError{File: f.Name(), Err: err}
		}
		cf := &sqlcheck.File{File: f, From: current}
		if first && i == 0 && len(stmts) > firstFileStmtLoop {
			current, err = l.whole(ctx, cf, stmts)
		} else {
			current, err = l.each(ctx, cf, stmts)
		}
		if err != nil {
			return nil, err
		}
		cf.To = current
		out[i] = cf
	}
	return out, nil
}

// whole executes every statement and attaches the file's total change to
// its beginning.
func (l *loader) whole(ctx context.Context, f *sqlcheck.File, stmts []*migrate.Stmt) (*schema.Realm, error) {
	for _, s := range stmts {
		if err := l.exec(ctx, f.File, s); err != nil {
			return nil, err
		}
	}
	next, err := l.inspect(ctx)
	if err != nil {
		return nil, err
	}
	if f.Sum, err = l.drv.RealmDiff(f.From, next); err != nil {
		return nil, err
	}
	f.Changes = []*sqlcheck.Change{{Changes: f.Sum, Stmt: &migrate.Stmt{Pos: 0}}}
	return next, nil
}

// each executes the statements one by one, attaching each one's changes.
func (l *loader) each(ctx context.Context, f *sqlcheck.File, stmts []*migrate.Stmt) (*schema.Realm, error) {
	current := f.From
	nodes, err := l.relfilenodes(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range stmts {
		if err := l.exec(ctx, f.File, s); err != nil {
			return nil, err
		}
		next, err := l.inspect(ctx)
		if err != nil {
			return nil, err
		}
		changes, err := l.drv.RealmDiff(current, next)
		if err != nil {
			return nil, err
		}
		after, err := l.relfilenodes(ctx)
		if err != nil {
			return nil, err
		}
		for oid, n := range nodes {
			if a, ok := after[oid]; ok && a.node != n.node {
				l.rewrote(f.Name(), s.Pos, n.name)
			}
		}
		// The Atlas analyzers get the changes as the community CLI sees
		// them (a rename is a drop and an add: DS103); ours on top read the
		// rename (BC102).
		f.Changes = append(f.Changes, &sqlcheck.Change{Stmt: s, Changes: changes})
		if fixed, ok := fixRenames(s.Text, slices.Clone(changes)); ok {
			l.renamed(f.Name(), s.Pos, fixed)
		}
		current, nodes = next, after
	}
	if f.Sum, err = l.drv.RealmDiff(f.From, current); err != nil {
		return nil, err
	}
	return current, nil
}

func (l *loader) exec(ctx context.Context, f migrate.File, s *migrate.Stmt) error {
	if _, err := l.db.ExecContext(ctx, s.Text); err != nil {
		return &LoadError{File: f.Name(), Line: Line(f.Bytes(), s.Pos), Stmt: s.Text, Err: err}
	}
	return nil
}

func (l *loader) renamed(file string, pos int, changes schema.Changes) {
	if l.renames == nil {
		l.renames = map[string]map[int]schema.Changes{}
	}
	if l.renames[file] == nil {
		l.renames[file] = map[int]schema.Changes{}
	}
	l.renames[file][pos] = changes
}

func (l *loader) rewrote(file string, pos int, table string) {
	if l.rewrites == nil {
		l.rewrites = map[string]map[int][]string{}
	}
	if l.rewrites[file] == nil {
		l.rewrites[file] = map[int][]string{}
	}
	l.rewrites[file][pos] = append(l.rewrites[file][pos], table)
}

// inspect returns the dev database's schemas (system schemas excluded by
// the driver).
func (l *loader) inspect(ctx context.Context) (*schema.Realm, error) {
	r, err := l.drv.InspectRealm(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("lint: inspect dev database: %w", err)
	}
	return r, nil
}

type relfile struct {
	name string
	node int64
}

// relfilenodes maps each user table's oid to its storage file.
func (l *loader) relfilenodes(ctx context.Context) (map[int64]relfile, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT c.oid::bigint, n.nspname || '.' || c.relname, c.relfilenode::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]relfile{}
	for rows.Next() {
		var (
			oid int64
			r   relfile
		)
		if err := rows.Scan(&oid, &r.name, &r.node); err != nil {
			return nil, err
		}
		out[oid] = r
	}
	return out, rows.Err()
}

const (
	identRE = `(?:"(?:[^"]|"")+"|\w+)`
	tableRE = `(?:` + identRE + `\.)?` + identRE
)

var (
	renameColumn = regexp.MustCompile(`(?is)^\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?` + tableRE + `\s+RENAME\s+(?:COLUMN\s+)?(` + identRE + `)\s+TO\s+(` + identRE + `)\s*;?\s*$`)
	renameTable  = regexp.MustCompile(`(?is)^\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(` + tableRE + `)\s+RENAME\s+TO\s+(` + identRE + `)\s*;?\s*$`)
	lastIdentRE  = regexp.MustCompile(identRE + `$`)
)

// fixRenames turns the drop-and-add a diff sees for a RENAME statement back
// into the rename it is, as the paid CLI's statement parser does, and
// reports whether stmt was one.
func fixRenames(stmt string, changes schema.Changes) (schema.Changes, bool) {
	if m := renameTable.FindStringSubmatch(stmt); m != nil {
		from, to := lastIdent(m[1]), ident(m[2])
		drop, add := -1, -1
		for i, c := range changes {
			switch c := c.(type) {
			case *schema.DropTable:
				if c.T.Name == from {
					drop = i
				}
			case *schema.AddTable:
				if c.T.Name == to {
					add = i
				}
			}
		}
		if drop != -1 && add != -1 {
			r := &schema.RenameTable{From: changes[drop].(*schema.DropTable).T, To: changes[add].(*schema.AddTable).T}
			return replacePair(changes, drop, add, r), true
		}
		return changes, false
	}
	m := renameColumn.FindStringSubmatch(stmt)
	if m == nil {
		return changes, false
	}
	from, to := ident(m[1]), ident(m[2])
	fixed := false
	for i, c := range changes {
		mt, ok := c.(*schema.ModifyTable)
		if !ok {
			continue
		}
		drop, add := schema.Changes(mt.Changes).IndexDropColumn(from), schema.Changes(mt.Changes).IndexAddColumn(to)
		if drop != -1 && add != -1 {
			r := &schema.RenameColumn{From: mt.Changes[drop].(*schema.DropColumn).C, To: mt.Changes[add].(*schema.AddColumn).C}
			cp := *mt
			cp.Changes = replacePair(mt.Changes, drop, add, r)
			changes[i], fixed = &cp, true
		}
	}
	return changes, fixed
}

// replacePair puts r at position i and removes position j.
func replacePair(changes schema.Changes, i, j int, r schema.Change) schema.Changes {
	out := make(schema.Changes, 0, len(changes)-1)
	for k, c := range changes {
		switch k {
		case i:
			out = append(out, r)
		case j:
		default:
			out = append(out, c)
		}
	}
	return out
}

// ident unquotes a PostgreSQL identifier; unquoted ones fold to lower case.
func ident(s string) string {
	if strings.HasPrefix(s, `"`) {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return strings.ToLower(s)
}

// lastIdent is ident of the last part of a possibly qualified name.
func lastIdent(s string) string { return ident(lastIdentRE.FindString(s)) }

// Line converts a byte offset into a 1-based line, as the CLI does.
func Line(b []byte, pos int) int {
	if pos > len(b) {
		pos = len(b)
	}
	return strings.Count(string(b[:pos]), "\n") + 1
}
