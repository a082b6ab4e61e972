package dev

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	_ "ariga.io/atlas/sql/postgres" // registers the postgres sqlclient opener
	atlasschema "ariga.io/atlas/sql/schema"
	"ariga.io/atlas/sql/sqlclient"
	_ "github.com/lib/pq" // the driver the Atlas CLI's postgres client uses

	"github.com/leadmetrics/db/internal/migrate/schemafmt"
	"github.com/leadmetrics/db/migrations"
)

// ErrDrift is returned by Check when schema.sql and the directory disagree.
var ErrDrift = errors.New("schema.sql and migrations/ disagree")

// DriftError carries the SQL a new migration would contain.
type DriftError struct{ SQL string }

func (e *DriftError) Error() string {
	return "dev: " + ErrDrift.Error() + "; run 'dbctl migrate diff NAME' (or 'dbctl migrate dev NAME'). Pending changes:\n" + e.SQL
}

func (e *DriftError) Is(target error) bool { return target == ErrDrift }

// SchemaScope returns devURL bound to the public schema (search_path), the
// scope the official CLI works in with atlas.hcl's dev URL: migration
// files name tables unqualified ("campaigns", not "public"."campaigns").
// A URL that already sets search_path is kept.
func SchemaScope(devURL string) (string, error) {
	u, err := url.Parse(devURL)
	if err != nil {
		return "", fmt.Errorf("dev: unparsable dev database URL")
	}
	q := u.Query()
	if q.Get("search_path") == "" {
		q.Set("search_path", "public")
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// Drop is a column (Column set) or a table the desired schema no longer has.
type Drop struct {
	Table, Column string
	Type          string   // the column's type; for a table, its columns
	Candidates    []string // added columns (tables) of the same type (columns) it may have been renamed to
}

// Kind is "table" or "column".
func (d Drop) Kind() string {
	if d.Column == "" {
		return "table"
	}
	return "column"
}

func (d Drop) String() string {
	if d.Column == "" {
		return d.Table
	}
	return d.Table + "." + d.Column
}

// Decision is what to do with a Drop: rename it to RenameTo, or drop it.
type Decision struct {
	RenameTo string // "": drop
}

// Decide settles every drop of a diff, or fails (no terminal and no flag
// saying which).
type Decide func(drops []Drop) ([]Decision, error)

// Planned is a new migration file, not written yet.
type Planned struct {
	Name    string // VERSION_name.sql
	Body    []byte
	Changes atlasschema.Changes // what the file does, renames first
	// Destructive lists the drops and renames the file makes, also listed
	// in its warning header.
	Destructive []string
	// AtlasIdentical: no header and no rename, so the file is byte for
	// byte what 'atlas migrate diff --env local' writes for the same inputs.
	AtlasIdentical bool
}

// Plan diffs dir (replayed on the clean dev database devURL) against the
// desired schema desiredSQL (schema.sql, executed there too) in the public
// schema, as 'atlas migrate diff' does with atlas.hcl's dev URL, and
// returns the file to write, or atlasmigrate.ErrNoPlan when nothing
// differs. decide settles dropped columns and tables (nil: refuse them).
func Plan(ctx context.Context, devURL string, dir atlasmigrate.Dir, name string, desiredSQL []byte, decide Decide) (*Planned, error) {
	scoped, err := SchemaScope(devURL)
	if err != nil {
		return nil, err
	}
	dev, err := sqlclient.Open(ctx, scoped)
	if err != nil {
		return nil, fmt.Errorf("dev: open the dev database: %w", err)
	}
	defer dev.Close()
	unlock, err := dev.Lock(ctx, "atlas_migrate_diff", 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("dev: lock the dev database: %w", err)
	}
	defer unlock()
	current, err := replaySchema(ctx, dev, dir)
	if err != nil {
		return nil, fmt.Errorf("dev: replay %s: %w", "the migration directory", err)
	}
	src := &atlasmigrate.MemDir{}
	if err := src.WriteFile("schema.sql", desiredSQL); err != nil {
		return nil, err
	}
	if err := migrations.Rehash(src); err != nil {
		return nil, err
	}
	desired, err := replaySchema(ctx, dev, src)
	if err != nil {
		return nil, fmt.Errorf("dev: load schema.sql: %w", err)
	}
	current.Name = desired.Name // one schema in scope: its name is not compared
	changes, err := dev.SchemaDiff(current, desired)
	if err != nil {
		return nil, err
	}
	if len(changes) == 0 {
		return nil, atlasmigrate.ErrNoPlan
	}
	drops := findDrops(changes)
	if len(drops) == 0 {
		return planFile(ctx, dev, name, nil, changes)
	}
	if decide == nil {
		decide = refuseDrops
	}
	decisions, err := decide(drops)
	if err != nil {
		return nil, err
	}
	renames, err := renameIn(current, drops, decisions)
	if err != nil {
		return nil, err
	}
	var dropped []Drop
	for i, d := range drops {
		if decisions[i].RenameTo == "" {
			dropped = append(dropped, d)
		}
	}
	if len(renames) > 0 {
		// The rest is the diff from the renamed state.
		if changes, err = dev.SchemaDiff(current, desired); err != nil {
			return nil, err
		}
	}
	p, err := planFile(ctx, dev, name, renames, changes)
	if err != nil {
		return nil, err
	}
	p.Destructive = destructive(renames, dropped)
	p.Body = append(warningHeader(p.Destructive), p.Body...)
	p.AtlasIdentical = false
	return p, nil
}

// replaySchema executes dir on the dev database and inspects the schema
// in scope, leaving the database clean (the Atlas CLI's state reader).
func replaySchema(ctx context.Context, dev *sqlclient.Client, dir atlasmigrate.Dir) (*atlasschema.Schema, error) {
	ex, err := atlasmigrate.NewExecutor(dev.Driver, dir, atlasmigrate.NopRevisionReadWriter{})
	if err != nil {
		return nil, err
	}
	realm, err := ex.Replay(ctx, atlasmigrate.SchemaConn(dev, "", &atlasschema.InspectOptions{}))
	if err != nil && !errors.Is(err, atlasmigrate.ErrNoPendingFiles) {
		return nil, err
	}
	if realm == nil || len(realm.Schemas) != 1 {
		return nil, errors.New("no schema in scope after replaying")
	}
	return realm.Schemas[0], nil
}

// planFile plans renames (first, each with its acknowledgement) and
// changes into one file, formatted as the Atlas CLI formats its files.
func planFile(ctx context.Context, dev *sqlclient.Client, name string, renames, changes atlasschema.Changes) (*Planned, error) {
	unqualified := func(o *atlasmigrate.PlanOptions) { o.SchemaQualifier = new(string) }
	var body bytes.Buffer
	for _, r := range renames {
		plan, err := dev.PlanChanges(ctx, name, atlasschema.Changes{r}, unqualified)
		if err != nil {
			return nil, fmt.Errorf("dev: plan the rename: %w", err)
		}
		code := "DS103"
		if _, ok := r.(*atlasschema.RenameTable); ok {
			code = "DS102"
		}
		for _, c := range plan.Changes {
			fmt.Fprintf(&body, "-- %s\n-- A rename keeps the data; the lint of the community Atlas CLI sees a drop and an add (%s).\n-- atlas:nolint %s\n%s;\n", c.Comment, code, code, c.Cmd)
		}
	}
	if len(changes) > 0 {
		plan, err := dev.PlanChanges(ctx, name, changes, unqualified)
		if err != nil {
			return nil, fmt.Errorf("dev: plan: %w", err)
		}
		files, err := atlasmigrate.DefaultFormatter.Format(plan)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			body.Write(f.Bytes())
		}
	}
	return &Planned{Name: name, Body: body.Bytes(), Changes: append(slices.Clone(renames), changes...), AtlasIdentical: len(renames) == 0}, nil
}

// findDrops lists the dropped tables and columns of changes, each with the
// added ones it may have been renamed to: a table with the same columns
// (names and types), a column of the same type in the same table.
func findDrops(changes atlasschema.Changes) []Drop {
	var drops []Drop
	var addedTables []*atlasschema.Table
	for _, c := range changes {
		if a, ok := c.(*atlasschema.AddTable); ok {
			addedTables = append(addedTables, a.T)
		}
	}
	for _, c := range changes {
		switch c := c.(type) {
		case *atlasschema.DropTable:
			d := Drop{Table: c.T.Name, Type: columnsOf(c.T)}
			for _, t := range addedTables {
				if columnsOf(t) == d.Type {
					d.Candidates = append(d.Candidates, t.Name)
				}
			}
			drops = append(drops, d)
		case *atlasschema.ModifyTable:
			for _, mc := range c.Changes {
				dc, ok := mc.(*atlasschema.DropColumn)
				if !ok {
					continue
				}
				d := Drop{Table: c.T.Name, Column: dc.C.Name, Type: schemafmt.Type(dc.C)}
				for _, ac := range c.Changes {
					if a, ok := ac.(*atlasschema.AddColumn); ok && schemafmt.Type(a.C) == d.Type {
						d.Candidates = append(d.Candidates, a.C.Name)
					}
				}
				drops = append(drops, d)
			}
		}
	}
	return drops
}

// columnsOf is "name type, ..." of a table's columns, sorted by name.
func columnsOf(t *atlasschema.Table) string {
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = c.Name + " " + schemafmt.Type(c)
	}
	slices.Sort(cols)
	return strings.Join(cols, ", ")
}

// renameIn renames, in the current schema, what the decisions rename, and
// returns the rename changes.
func renameIn(current *atlasschema.Schema, drops []Drop, decisions []Decision) (atlasschema.Changes, error) {
	var renames atlasschema.Changes
	for i, d := range drops {
		to := decisions[i].RenameTo
		if to == "" {
			continue
		}
		if !slices.Contains(d.Candidates, to) {
			return nil, fmt.Errorf("dev: cannot rename %s to %q: the new schema adds no %s of the same type by that name (candidates: %s)",
				d, to, d.Kind(), cmp.Or(strings.Join(d.Candidates, ", "), "none"))
		}
		t, ok := current.Table(d.Table)
		if !ok {
			return nil, fmt.Errorf("dev: table %s not found", d.Table)
		}
		if d.Column == "" {
			from := *t
			t.Name = to
			renames = append(renames, &atlasschema.RenameTable{From: &from, To: t})
			continue
		}
		c, ok := t.Column(d.Column)
		if !ok {
			return nil, fmt.Errorf("dev: column %s not found", d)
		}
		from := *c
		c.Name = to
		renames = append(renames, &atlasschema.ModifyTable{T: t, Changes: atlasschema.Changes{&atlasschema.RenameColumn{From: &from, To: c}}})
	}
	return renames, nil
}

// destructive describes the renames and drops of a file.
func destructive(renames atlasschema.Changes, dropped []Drop) []string {
	var out []string
	for _, r := range renames {
		switch r := r.(type) {
		case *atlasschema.RenameTable:
			out = append(out, fmt.Sprintf("renames table %q to %q: deployed code using the old name fails", r.From.Name, r.To.Name))
		case *atlasschema.ModifyTable:
			rc := r.Changes[0].(*atlasschema.RenameColumn)
			out = append(out, fmt.Sprintf("renames column %q of table %q to %q: deployed code using the old name fails", rc.From.Name, r.T.Name, rc.To.Name))
		}
	}
	for _, d := range dropped {
		if d.Column == "" {
			out = append(out, fmt.Sprintf("drops table %q: all its rows are lost", d.Table))
		} else {
			out = append(out, fmt.Sprintf("drops column %q of table %q: its data is lost", d.Column, d.Table))
		}
	}
	return out
}

// warningHeader is the comment block a file with destructive changes
// starts with (a blank line ends it: Atlas reads it as the file header).
func warningHeader(items []string) []byte {
	var b bytes.Buffer
	b.WriteString("-- Warnings (dbctl migrate diff): this file has destructive changes.\n")
	for _, it := range items {
		fmt.Fprintf(&b, "--   - It %s.\n", it)
	}
	b.WriteString("-- Deploy code that no longer uses them first (MIGRATIONS.md, \"Drop a field\").\n" +
		"-- Lint (dbctl and atlas) fails on each drop (DS102, DS103) until the statement\n" +
		"-- carries '-- atlas:nolint DS103' (DS102 for a table) and a comment saying why.\n\n")
	return b.Bytes()
}

// refuseDrops is the decision without a terminal and without flags.
func refuseDrops(drops []Drop) ([]Decision, error) { return nil, &DropsError{Drops: drops} }

// ErrUndecidedDrops matches a diff that drops columns or tables nobody said
// what to do with.
var ErrUndecidedDrops = errors.New("the diff drops columns or tables: say whether each is a rename or a drop")

// DropsError lists the drops to decide, with the flags that would.
type DropsError struct{ Drops []Drop }

func (e *DropsError) Error() string {
	var b strings.Builder
	b.WriteString("dev: " + ErrUndecidedDrops.Error() + " (no terminal to ask on):")
	for _, d := range e.Drops {
		fmt.Fprintf(&b, "\n  %s %s (%s) is gone:", d.Kind(), d, d.Type)
		for _, c := range d.Candidates {
			if d.Column == "" {
				fmt.Fprintf(&b, " --rename %s=%s", d.Table, c)
			} else {
				fmt.Fprintf(&b, " --rename %s=%s", d, c)
			}
			b.WriteString(" or")
		}
		fmt.Fprintf(&b, " --allow-drop %s", d)
	}
	return b.String()
}

func (e *DropsError) Is(target error) bool { return target == ErrUndecidedDrops }

// Check plans schema.sql against dir into an in-memory copy and returns a
// *DriftError holding the SQL when a new migration would not be empty.
// Drops are planned as drops (nothing is asked).
func Check(ctx context.Context, devURL string, dir atlasmigrate.Dir, desiredSQL []byte) error {
	p, err := Plan(ctx, devURL, dir, "drift", desiredSQL, func(drops []Drop) ([]Decision, error) {
		return make([]Decision, len(drops)), nil
	})
	switch {
	case errors.Is(err, atlasmigrate.ErrNoPlan):
		return nil
	case err != nil:
		return err
	}
	return &DriftError{SQL: string(p.Body)}
}

// Write writes p into dir as VERSION_name.sql, VERSION the UTC time (one
// second past the newest file when the clock is behind it), and rehashes
// atlas.sum. It returns the file name.
func Write(dir atlasmigrate.Dir, p *Planned, now time.Time) (string, error) {
	files, err := dir.Files()
	if err != nil {
		return "", err
	}
	name := NewVersion(now, files) + "_" + p.Name + ".sql"
	if err := dir.WriteFile(name, p.Body); err != nil {
		return "", err
	}
	return name, migrations.Rehash(dir)
}

// NewVersion is the UTC timestamp version, one second past the newest
// file when the clock is behind it, so the new file always sorts last.
func NewVersion(now time.Time, files []atlasmigrate.File) string {
	v := now.UTC().Format("20060102150405")
	if len(files) > 0 {
		if newest := files[len(files)-1].Version(); v <= newest {
			if t, err := time.Parse("20060102150405", newest); err == nil {
				v = t.Add(time.Second).Format("20060102150405")
			}
		}
	}
	return v
}
