package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"

	"entgo.io/ent/entc/gen"

	"github.com/leadmetrics/db/internal/migrate/dev"
	"github.com/leadmetrics/db/internal/migrate/entgen"
	"github.com/leadmetrics/db/internal/migrate/lint"
	"github.com/leadmetrics/db/internal/migrate/review"
	"github.com/leadmetrics/db/migrations"
)

// devCommand is "dbctl migrate dev NAME": the developer loop after a
// schema edit, run from the repository root.
func devCommand(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
	f := &migrateFlags{}
	f.register(fs, fDir|fURL|fDev|fDrops)
	return func(ctx context.Context, args []string, out io.Writer) error { return runDev(ctx, f, args[0], out) }
}

// progress prints "[ +1.2s] what" lines, timed from the command's start.
type progress struct {
	start time.Time
	mu    sync.Mutex
	out   io.Writer
}

func (p *progress) say(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, "[%5.1fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

// runDev regenerates what the schema change needs, writes the migration,
// lints it, prints its review summary and applies it to the development
// database. The client is generated while the database steps run; the
// other go:generate steps of the module run while the schema loads (they
// read the schema, so they must not see a client half written).
func runDev(ctx context.Context, f *migrateFlags, name string, out io.Writer) error {
	p := &progress{start: time.Now(), out: out}
	if err := migrations.CheckName(name); err != nil {
		return err
	}
	dir, err := f.validDir()
	if err != nil {
		return err
	}
	decide, err := f.decider(os.Stdin, os.Stderr)
	if err != nil {
		return err
	}
	o := entgen.Default()
	o.Log = func(format string, args ...any) { p.say(format, args...) }

	others, err := otherGenerators(".")
	if err != nil {
		return err
	}
	otherDone := make(chan error, 1)
	go func() { otherDone <- runGenerators(ctx, p, others) }()
	graph, err := entgen.Load(o)
	if gerr := <-otherDone; err == nil {
		err = gerr
	}
	if err != nil {
		return err
	}
	genDone := make(chan error, 1)
	go func() { genDone <- entgen.GenerateClient(o, graph) }()
	err = devDatabaseSteps(ctx, f, p, o, graph, dir, name, decide, out)
	gerr := <-genDone
	if err != nil && gerr == nil {
		p.say("stopped: ent/ and schema.sql follow the edited schema; no migration was applied")
	}
	if err == nil {
		err = gerr
	}
	if err != nil {
		return err
	}
	p.say("done: schema, client, migration and development database agree")
	return nil
}

// devDatabaseSteps writes schema.sql and the migration, lints and
// reviews it, and applies the pending files to the target.
func devDatabaseSteps(ctx context.Context, f *migrateFlags, p *progress, o entgen.Options, graph *gen.Graph, dir *atlasmigrate.LocalDir, name string, decide dev.Decide, out io.Writer) error {
	desired, err := entgen.WriteSchemaSQL(o, graph)
	if err != nil {
		return err
	}
	var file string
	err = f.withDevURL(ctx, func(devURL string) error {
		p.say("diffing schema.sql against %s on a dev database", f.dir)
		var w bytes.Buffer
		if file, err = writeDiff(ctx, devURL, dir, f.dir, name, desired, decide, &w); err != nil {
			return err
		}
		for _, line := range strings.Split(strings.TrimSpace(w.String()), "\n") {
			p.say("%s", line)
		}
		if file == "" {
			return nil
		}
		return lintAndReview(ctx, devURL, dir, f.dir, p, out)
	})
	if err != nil {
		return err
	}
	return devApply(ctx, f, p, dir)
}

// lintAndReview lints the newest file and prints its review summary.
func lintAndReview(ctx context.Context, devURL string, dir *atlasmigrate.LocalDir, dirPath string, p *progress, out io.Writer) error {
	files, err := dir.Files()
	if err != nil {
		return err
	}
	base, added := lint.Latest(files, 1)
	p.say("linting %s", added[0].Name())
	res, err := lint.Run(ctx, devURL, base, added)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	lint.WriteText(&b, dirPath, res)
	out.Write(indent(b.String()))
	p.say("review summary:")
	for _, fr := range res.Files {
		for _, it := range review.Items(fr) {
			fmt.Fprintf(out, "          line %d: %s %s %s\n", it.Line, it.Change, it.Object, it.Detail)
		}
	}
	if n := res.Errors(); n > 0 {
		p.say("lint: %d error(s): applied to the development database anyway; CI fails until each is fixed or acknowledged (-- atlas:nolint CODE and why, then dbctl migrate hash)", n)
	}
	return nil
}

func indent(s string) []byte {
	var b bytes.Buffer
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("          " + line + "\n")
	}
	return b.Bytes()
}

// devApply applies the directory's pending files to the target database,
// created when missing.
func devApply(ctx context.Context, f *migrateFlags, p *progress, dir *atlasmigrate.LocalDir) error {
	cfg, sqlDB, err := f.openTarget(ctx, true)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	p.say("applying to %s", cfg.Redacted())
	res, err := migrations.Apply(ctx, sqlDB, migrations.Options{Dir: dir, Log: func(format string, args ...any) { p.say("  "+format, args...) }})
	if err != nil {
		return err
	}
	p.say("database at version %s (%d applied now)", res.Current, len(res.Applied))
	return nil
}

// otherGenerators lists the directories under root, other than root
// itself (whose go:generate is entgen's, run in process), whose Go files
// carry a go:generate directive.
func otherGenerators(root string) ([]string, error) {
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "vendor" || path == filepath.Join(root, "ent")) {
				return filepath.SkipDir
			}
			return nil
		}
		if filepath.Dir(path) == root || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte("\n//go:generate ")) && (len(dirs) == 0 || dirs[len(dirs)-1] != filepath.Dir(path)) {
			dirs = append(dirs, filepath.Dir(path))
		}
		return nil
	})
	return dirs, err
}

// runGenerators runs go generate in each directory.
func runGenerators(ctx context.Context, p *progress, dirs []string) error {
	for _, d := range dirs {
		start := time.Now()
		p.say("go generate ./%s", filepath.ToSlash(d))
		cmd := exec.CommandContext(ctx, "go", "generate", "./"+filepath.ToSlash(d))
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go generate ./%s: %w\n%s", d, err, out)
		}
		p.say("go generate ./%s done in %s", filepath.ToSlash(d), time.Since(start).Round(100*time.Millisecond))
	}
	return nil
}
