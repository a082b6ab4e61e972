// Package history keeps the migration history append-only by
// comparing the migration directory with a git base commit, and finds that
// base for CI.
package history

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// ErrNotAppendOnly matches (errors.Is) every *Error.
var ErrNotAppendOnly = errors.New("migration history is not append-only")

// Violation kinds.
const (
	Edited   = "edited"   // a landed file's content changed
	Removed  = "removed"  // a landed file is gone
	Renamed  = "renamed"  // a landed file is gone and a new file has its content
	Inserted = "inserted" // a new file sorts before the newest landed one
)

// Violation is one change that rewrites history.
type Violation struct {
	Kind   string `json:"kind"`
	File   string `json:"file"` // the landed file (for Inserted, the new one)
	Detail string `json:"detail"`
}

func (v Violation) String() string { return fmt.Sprintf("%s %s: %s", v.File, v.Kind, v.Detail) }

// Error lists the violations against Base.
type Error struct {
	Base       string
	Violations []Violation
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "history: %v compared with %s:", ErrNotAppendOnly, short(e.Base))
	for _, v := range e.Violations {
		b.WriteString("\n  " + v.String())
	}
	b.WriteString("\nDatabases that applied the landed files will never run the changed version: " +
		"restore them and fix forward with a new migration (dbctl migrate diff NAME).")
	return b.String()
}

func (e *Error) Is(target error) bool { return target == ErrNotAppendOnly }

// Check compares the .sql files in dir (the working tree) with those of
// dir at commit base: a landed file edited, removed or renamed, or a new
// file sorting before the newest landed one, is an *Error.
func Check(ctx context.Context, dir, base string) error {
	landed, err := Landed(ctx, dir, base)
	if err != nil {
		return err
	}
	current, err := readSQL(dir)
	if err != nil {
		return err
	}
	var (
		vs     []Violation
		newest string
		added  []string
	)
	for name := range landed {
		newest = max(newest, name)
	}
	for _, name := range sortedKeys(current) {
		if _, ok := landed[name]; !ok {
			added = append(added, name)
		}
	}
	renamedTo := map[string]bool{}
	for _, name := range sortedKeys(landed) {
		body, ok := current[name]
		switch {
		case !ok:
			v := Violation{Kind: Removed, File: name, Detail: "a landed migration was deleted"}
			if i := slices.IndexFunc(added, func(n string) bool { return !renamedTo[n] && bytes.Equal(current[n], landed[name]) }); i != -1 {
				v = Violation{Kind: Renamed, File: name, Detail: "renamed to " + added[i]}
				renamedTo[added[i]] = true
			}
			vs = append(vs, v)
		case !bytes.Equal(body, landed[name]):
			vs = append(vs, Violation{Kind: Edited, File: name, Detail: "a landed migration was modified"})
		}
	}
	for _, name := range added {
		if name < newest && !renamedTo[name] {
			vs = append(vs, Violation{Kind: Inserted, File: name, Detail: "sorts before " + newest +
				", which has landed: databases past it would skip this file; rename it with a newer version"})
		}
	}
	if len(vs) > 0 {
		return &Error{Base: base, Violations: vs}
	}
	return nil
}

// Landed returns the .sql files of dir as of commit base, by name.
func Landed(ctx context.Context, dir, base string) (map[string][]byte, error) {
	out, err := git(ctx, dir, "ls-tree", "-r", "--name-only", base, "--", ".")
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, name := range strings.Fields(out) {
		if strings.Contains(name, "/") || !strings.HasSuffix(name, ".sql") {
			continue
		}
		body, err := git(ctx, dir, "show", base+":./"+name)
		if err != nil {
			return nil, err
		}
		files[name] = []byte(body)
	}
	return files, nil
}

// AutoBase finds the commit whose migration files count as landed, for CI
// and for "--base auto":
//  1. when HEAD is a branch off main (origin/main, else main), their
//     merge-base: the branch's files are the new ones;
//  2. on main with migration files not committed yet, HEAD: the
//     uncommitted files are the new ones;
//  3. otherwise (a fresh clone of main, HEAD is the submission), the first
//     parent of the newest commit on HEAD's first-parent chain that added a
//     .sql file to dir: for a merge commit that is main before the merge, so
//     the new files are what the merge brought;
//  4. "" when there is no such commit (a single-commit or shallow history):
//     the caller compares with nothing.
//
// The result is described in how.
func AutoBase(ctx context.Context, dir string) (base, how string, err error) {
	head, err := git(ctx, dir, "rev-parse", "--verify", "HEAD^{commit}")
	if err != nil {
		return "", "", err
	}
	head = strings.TrimSpace(head)
	for _, ref := range []string{"origin/main", "main"} {
		if _, err := git(ctx, dir, "rev-parse", "--verify", "--quiet", ref+"^{commit}"); err != nil {
			continue
		}
		mb, err := git(ctx, dir, "merge-base", "HEAD", ref)
		if mb = strings.TrimSpace(mb); err == nil && mb != "" && mb != head {
			return mb, "merge-base of HEAD and " + ref, nil
		}
		break
	}
	// Before committing: the files not in HEAD are the new ones, and the
	// files HEAD has (say the last merge's) have landed.
	atHead, err := Landed(ctx, dir, "HEAD")
	if err != nil {
		return "", "", err
	}
	current, err := readSQL(dir)
	if err != nil {
		return "", "", err
	}
	for name := range current {
		if _, ok := atHead[name]; !ok {
			return head, "HEAD, since the working tree has uncommitted migration files", nil
		}
	}
	// Only added .sql files count: the directory also holds Go code.
	last, err := git(ctx, dir, "log", "--first-parent", "-1", "--format=%H", "--diff-filter=A", "HEAD", "--", ":(glob)*.sql")
	if last = strings.TrimSpace(last); err != nil || last == "" {
		return "", "no commit added a migration file", err
	}
	parent, err := git(ctx, dir, "rev-parse", "--verify", "--quiet", last+"^1")
	if parent = strings.TrimSpace(parent); err != nil || parent == "" {
		return "", "the newest commit adding a migration file has no parent", nil
	}
	return parent, "parent of " + short(last) + ", the newest commit adding a migration file", nil
}

// ResolveBase turns a --base value into a commit: "auto" runs AutoBase,
// anything else is a git revision.
func ResolveBase(ctx context.Context, dir, ref string) (base, how string, err error) {
	if ref == "auto" {
		return AutoBase(ctx, dir)
	}
	c, err := git(ctx, dir, "rev-parse", "--verify", ref+"^{commit}")
	if err != nil {
		return "", "", err
	}
	return strings.TrimSpace(c), ref, nil
}

func readSQL(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		files[e.Name()] = b
	}
	return files, nil
}

// GitError is a failed git command with its output.
type GitError struct {
	Args   []string
	Output string
	Err    error
}

func (e *GitError) Error() string {
	return fmt.Sprintf("history: git %s: %v: %s", strings.Join(e.Args, " "), e.Err, strings.TrimSpace(e.Output))
}

func (e *GitError) Unwrap() error { return e.Err }

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", &GitError{Args: args, Output: stderr.String(), Err: err}
	}
	return stdout.String(), nil
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
