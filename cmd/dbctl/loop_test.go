package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadmetrics/db/internal/migrate/dev"
	"github.com/leadmetrics/db/internal/testing/clitest"
	"github.com/leadmetrics/db/internal/testing/suitedb"
)

// TestBuildPathHasNoClient: nothing dbctl builds uses the generated client
// or code written against it, so no schema edit can stop it from building
// (finding 1: demo code using SetObjective broke 'migrate diff').
func TestBuildPathHasNoClient(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	const mod = "github.com/leadmetrics/db"
	for _, pkg := range strings.Fields(string(out)) {
		rest, ok := strings.CutPrefix(pkg, mod)
		if !ok {
			continue
		}
		switch {
		case rest == "", rest == "/ent" || strings.HasPrefix(rest, "/ent/"),
			rest == "/privacy", rest == "/ledger", rest == "/billing", rest == "/secrets", rest == "/retention", rest == "/input":
			t.Errorf("dbctl builds %s, which is or uses the generated client", pkg)
		}
	}
}

// repoCopy copies the tracked files of the repository into a new directory
// (a module of its own path, so the build cache is shared only with
// -trimpath, which the commands get).
func repoCopy(t *testing.T) string {
	t.Helper()
	files, err := exec.Command("git", "-C", repoRoot, "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	dst := t.TempDir()
	for _, f := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join(repoRoot, f))
		if os.IsNotExist(err) {
			continue // deleted in the working tree
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// inCopy runs a command in the copy with -trimpath builds and env.
func inCopy(t *testing.T, dir string, env []string, name string, args ...string) result {
	t.Helper()
	return clitest.Run(t, dir, append([]string{"GOFLAGS=-trimpath"}, env...), name, args...)
}

// editFile replaces old by new in a file of the copy.
func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), old) {
		t.Fatalf("%s: no %q (%v)", path, old, err)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDevLoop runs 'go run ./cmd/dbctl migrate dev' in copies of the
// repository after a schema edit, as a developer would (findings 1, 2, 5):
// an added field is regenerated (client, schema.sql), written, linted,
// reviewed and applied in one command with progress lines; a dropped field
// that other code still uses neither stops dbctl from building nor is
// dropped without being asked.
func TestDevLoop(t *testing.T) {
	t.Run("add a field", func(t *testing.T) {
		repo := repoCopy(t)
		editFile(t, filepath.Join(repo, "ent/schema/campaign.go"),
			"\t\tfield.String(\"owner_id\")", "\t\tfield.String(\"utm_source\").Optional().MaxLen(100).SchemaType(varchar(100)),\n\t\tfield.String(\"owner_id\")")
		url := suitedb.URL(t) // migrated: the loop applies the new file only
		env := []string{"DATABASE_URL=" + url, "DATABASE_DEV_URL=" + suitedb.EmptyURL(t)}
		r := inCopy(t, repo, env, "go", "run", "./cmd/dbctl", "migrate", "dev", "add_utm_source")
		r.Want(t, 0)
		for _, step := range []string{"loading ./ent/schema", "go generate ./privacy", "generated ./ent in", "wrote schema.sql",
			"_add_utm_source.sql", "no diagnostics found", "added column campaigns.utm_source character varying(100) NULL",
			"applying to ", "(1 applied now)", "done: "} {
			if !strings.Contains(r.Stdout, step) {
				t.Errorf("no %q in the progress:\n%s", step, r.Stdout)
			}
		}
		assertProgressLines(t, r.Stdout)
		files, _ := filepath.Glob(filepath.Join(repo, "migrations", "*_add_utm_source.sql"))
		if len(files) != 1 {
			t.Fatalf("migration files %v", files)
		}
		if b, _ := os.ReadFile(files[0]); string(b) != "-- Modify \"campaigns\" table\nALTER TABLE \"campaigns\" ADD COLUMN \"utm_source\" character varying(100) NULL;\n" {
			t.Fatalf("migration:\n%s", b)
		}
		if b, _ := os.ReadFile(filepath.Join(repo, "ent/campaign/campaign.go")); !strings.Contains(string(b), "FieldUtmSource") {
			t.Fatal("the client was not regenerated")
		}
		if _, err := dev.CheckSchemaFile(filepath.Join(repo, "schema.sql"), filepath.Join(repo, "ent/schema")); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := suitedb.Open(t, url).QueryRow(`SELECT count(*) FROM information_schema.columns WHERE table_name = 'campaigns' AND column_name = 'utm_source'`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("column on the development database: %d %v", n, err)
		}
		// In agreement: the schema.sql it wrote is fresh and matches the
		// migrations, and the database has every file. (A second migrate dev
		// would load the schema against the regenerated client, which only
		// a build compiles: a minute of this test's time for nothing new.)
		inCopy(t, repo, env, "go", "run", "./cmd/dbctl", "migrate", "check").Want(t, 0)
		inCopy(t, repo, env, "go", "run", "./cmd/dbctl", "migrate", "status", "--check").Want(t, 0)
	})
	t.Run("generate without a server", func(t *testing.T) {
		repo := repoCopy(t)
		editFile(t, filepath.Join(repo, "ent/schema/campaign.go"),
			"\t\tfield.String(\"owner_id\")", "\t\tfield.String(\"utm_medium\").Optional(),\n\t\tfield.String(\"owner_id\")")
		nowhere := []string{"DATABASE_URL=postgres://postgres@127.0.0.1:1/none", "DATABASE_DEV_URL=postgres://postgres@127.0.0.1:1/none", "PGHOST=127.0.0.1", "PGPORT=1"}
		r := inCopy(t, repo, nowhere, "go", "generate", "./ent")
		r.Want(t, 0)
		before, err := os.ReadFile(filepath.Join(repo, "schema.sql"))
		if err != nil {
			t.Fatal(err)
		}
		tables := strings.Count(string(before), "CREATE TABLE ")
		for _, line := range []string{"entc: loading ./ent/schema", "entc: generated ./ent in", fmt.Sprintf("entc: wrote schema.sql (%d tables, no database needed)", tables)} {
			if !strings.Contains(r.Stderr, line) {
				t.Errorf("go generate's step does not say %q:\n%s", line, r.Stderr)
			}
		}
		if b, _ := os.ReadFile(filepath.Join(repo, "schema.sql")); !strings.Contains(string(b), `"utm_medium" character varying NULL`) {
			t.Fatal("schema.sql lacks the new column")
		}
	})
	dropObjective := func(t *testing.T) (repo string, env []string) {
		repo = repoCopy(t)
		editFile(t, filepath.Join(repo, "ent/schema/campaign.go"), "\t\tfield.Text(\"objective\").Optional(),\n", "")
		return repo, []string{"DATABASE_URL=" + suitedb.URL(t), "DATABASE_DEV_URL=" + suitedb.EmptyURL(t)}
	}
	t.Run("a drop is refused without a terminal or a flag", func(t *testing.T) {
		repo, env := dropObjective(t)
		r := inCopy(t, repo, env, "go", "run", "./cmd/dbctl", "migrate", "dev", "drop_objective")
		r.Want(t, 1)
		if !strings.Contains(r.Stderr, "--allow-drop campaigns.objective") || !strings.Contains(r.Stdout, "no migration was applied") {
			t.Fatalf("a drop without a terminal or a flag:\n%s\n%s", r.Stdout, r.Stderr)
		}
		if files, _ := filepath.Glob(filepath.Join(repo, "migrations", "*_drop_objective.sql")); len(files) != 0 {
			t.Fatal("a refused drop wrote a migration")
		}
	})
	t.Run("drop a field other code uses", func(t *testing.T) {
		repo, env := dropObjective(t)
		r := inCopy(t, repo, env, "go", "run", "./cmd/dbctl", "migrate", "dev", "drop_objective", "--allow-drop", "campaigns.objective")
		r.Want(t, 0)
		if !strings.Contains(r.Stdout, "DS103 error") || !strings.Contains(r.Stdout, "CI fails until each is fixed or acknowledged") {
			t.Fatalf("drop:\n%s", r.Stdout)
		}
		files, _ := filepath.Glob(filepath.Join(repo, "migrations", "*_drop_objective.sql"))
		if b, _ := os.ReadFile(files[0]); !strings.HasPrefix(string(b), "-- Warnings") {
			t.Fatalf("no warning header:\n%s", b)
		}
		// The demo still sets the field (datactl no longer builds until it is
		// fixed); dbctl, which was built and ran above, still builds.
		inCopy(t, repo, nil, "go", "build", "-o", os.DevNull, "./cmd/dbctl").Want(t, 0)
		inCopy(t, repo, env, "go", "run", "./cmd/dbctl", "migrate", "status", "--check").Want(t, 0)
	})
}

// assertProgressLines: every line the loop prints is timed, or indented
// under a timed one.
func assertProgressLines(t *testing.T, out string) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "[") && !strings.HasPrefix(line, "          ") {
			t.Errorf("untimed progress line %q", line)
		}
	}
}
