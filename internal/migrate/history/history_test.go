package history_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadmetrics/db/internal/migrate/history"
)

// repo is a temporary git repository with a migrations/ directory.
type repo struct {
	t    *testing.T
	root string
}

func newRepo(t *testing.T) *repo {
	t.Helper()
	r := &repo{t: t, root: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	if err := os.Mkdir(r.dir(), 0o755); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *repo) dir() string { return filepath.Join(r.root, "migrations") }

func (r *repo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", r.root, "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *repo) write(name, body string) {
	r.t.Helper()
	if err := os.WriteFile(filepath.Join(r.root, name), []byte(body), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *repo) commit(msg string) string {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

// landed makes a repository whose main has two migration files.
func landed(t *testing.T) (*repo, string) {
	r := newRepo(t)
	r.write("migrations/20260101000000_init.sql", "CREATE TABLE a (id int);\n")
	r.write("migrations/20260102000000_b.sql", "CREATE TABLE b (id int);\n")
	r.write("migrations/atlas.sum", "h1:x\n")
	return r, r.commit("landed")
}

func TestAppendOnly(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		change func(r *repo)
		kinds  []string // nil: passes
	}{
		{"append", func(r *repo) {
			r.write("migrations/20260103000000_c.sql", "CREATE TABLE c (id int);\n")
			r.write("migrations/atlas.sum", "h1:y\n") // the sum always changes; not a migration
		}, nil},
		{"edit", func(r *repo) {
			r.write("migrations/20260101000000_init.sql", "CREATE TABLE a (id bigint);\n")
		}, []string{history.Edited}},
		{"delete", func(r *repo) {
			os.Remove(filepath.Join(r.dir(), "20260102000000_b.sql"))
		}, []string{history.Removed}},
		{"rename", func(r *repo) {
			os.Rename(filepath.Join(r.dir(), "20260102000000_b.sql"), filepath.Join(r.dir(), "20260103000000_b.sql"))
		}, []string{history.Renamed}},
		{"insert older", func(r *repo) {
			r.write("migrations/20260101120000_between.sql", "CREATE TABLE x (id int);\n")
		}, []string{history.Inserted}},
		{"insert older and append", func(r *repo) {
			r.write("migrations/20260101120000_between.sql", "CREATE TABLE x (id int);\n")
			r.write("migrations/20260103000000_c.sql", "CREATE TABLE c (id int);\n")
		}, []string{history.Inserted}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, base := landed(t)
			tc.change(r)
			// Both uncommitted (a developer's tree) and committed (CI).
			for _, stage := range []string{"working tree", "committed"} {
				if stage == "committed" {
					r.commit(tc.name)
				}
				err := history.Check(ctx, r.dir(), base)
				var he *history.Error
				switch {
				case tc.kinds == nil && err != nil:
					t.Fatalf("%s: %v", stage, err)
				case tc.kinds == nil:
				case !errors.As(err, &he) || !errors.Is(err, history.ErrNotAppendOnly):
					t.Fatalf("%s: got %v, want a history error", stage, err)
				default:
					var kinds []string
					for _, v := range he.Violations {
						kinds = append(kinds, v.Kind)
					}
					if strings.Join(kinds, ",") != strings.Join(tc.kinds, ",") {
						t.Fatalf("%s: violations %v, want %v", stage, he.Violations, tc.kinds)
					}
				}
			}
		})
	}
}

func TestAutoBase(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t)
	r.write("migrations/1_init.sql", "CREATE TABLE a (id int);\n")
	c1 := r.commit("init")
	if base, how, err := history.AutoBase(ctx, r.dir()); err != nil || base != "" {
		t.Fatalf("single commit: base %q (%s) %v, want none", base, how, err)
	}

	r.write("migrations/2_b.sql", "CREATE TABLE b (id int);\n")
	r.commit("b")
	r.write("README", "docs\n")
	r.commit("docs only")
	if base, how, err := history.AutoBase(ctx, r.dir()); err != nil || base != c1 {
		t.Fatalf("main itself: base %q (%s) %v, want %s, the parent of the last migration commit", base, how, err, c1)
	}
	// Before committing a new file on main: only that file is new, not the
	// last landed one.
	r.write("migrations/3_uncommitted.sql", "CREATE TABLE u (id int);\n")
	if base, how, err := history.AutoBase(ctx, r.dir()); err != nil || base != r.git("rev-parse", "HEAD") {
		t.Fatalf("uncommitted file: base %q (%s) %v, want HEAD", base, how, err)
	}
	if err := os.Remove(filepath.Join(r.dir(), "3_uncommitted.sql")); err != nil {
		t.Fatal(err)
	}

	// A branch merged with a merge commit: the base is main before the merge.
	r.git("checkout", "-q", "-b", "feature")
	r.write("migrations/3_c.sql", "CREATE TABLE c (id int);\n")
	r.commit("c")
	r.write("migrations/4_d.sql", "CREATE TABLE d (id int);\n")
	r.commit("d")
	if base, how, err := history.AutoBase(ctx, r.dir()); err != nil || base != r.git("rev-parse", "main") {
		t.Fatalf("branch: base %q (%s) %v, want the merge-base with main", base, how, err)
	}
	r.git("checkout", "-q", "main")
	mainBefore := r.git("rev-parse", "HEAD")
	r.git("-c", "user.name=t", "-c", "user.email=t@example.com", "merge", "-q", "--no-ff", "-m", "merge feature", "feature")
	if base, how, err := history.AutoBase(ctx, r.dir()); err != nil || base != mainBefore {
		t.Fatalf("after the merge: base %q (%s) %v, want %s", base, how, err, mainBefore)
	}

	// Later commits that touch only other files (code beside the migrations,
	// docs) do not move the base.
	r.write("migrations/migrations.go", "package migrations\n")
	r.commit("code")
	r.write("migrations/1_init.sql", "CREATE TABLE a (id bigint);\n") // an edit is not an addition
	r.commit("edit")
	if base, how, err := history.AutoBase(ctx, r.dir()); err != nil || base != mainBefore {
		t.Fatalf("after code commits: base %q (%s) %v, want %s", base, how, err, mainBefore)
	}

	// CI: a fresh clone of main, where origin/main is HEAD itself.
	clone := filepath.Join(t.TempDir(), "clone")
	r.git("clone", "-q", r.root, clone)
	if base, how, err := history.AutoBase(ctx, filepath.Join(clone, "migrations")); err != nil || base != mainBefore {
		t.Fatalf("fresh clone: base %q (%s) %v, want %s", base, how, err, mainBefore)
	}
}
