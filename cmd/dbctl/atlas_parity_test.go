package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/leadmetrics/db/internal/migrate/lint"
	"github.com/leadmetrics/db/internal/testing/clitest"
	"github.com/leadmetrics/db/internal/testing/suitedb"
)

// atlasBin is the official Atlas CLI to compare with (ATLAS_BIN); the
// parity tests skip without it. Build one from the vendored source of the
// commit go.mod pins (MIGRATIONS.md, "The official Atlas CLI"):
//
//	tar -xzf ../shared/vendor/atlas-175b25e.tar.gz -C /tmp
//	cd /tmp/atlas-175b25e/cmd/atlas && go build -o /tmp/atlas .
//	ATLAS_BIN=/tmp/atlas go test -run Atlas ./cmd/dbctl/
func atlasBin(t *testing.T) string {
	t.Helper()
	p := os.Getenv("ATLAS_BIN")
	if p == "" {
		t.Skip("ATLAS_BIN is not set: no official Atlas CLI to compare with. Build one (3-6 min): " +
			"tar -xzf ../shared/vendor/atlas-175b25e.tar.gz -C /tmp && (cd /tmp/atlas-175b25e/cmd/atlas && go build -o /tmp/atlas .), " +
			"then ATLAS_BIN=/tmp/atlas go test -run Atlas ./cmd/dbctl/")
	}
	return p
}

// runAtlas runs the official CLI in dir with atlas.hcl's environment.
func runAtlas(t *testing.T, dir, devURL string, args ...string) result {
	t.Helper()
	return clitest.Run(t, dir, []string{"DATABASE_URL=" + devURL, "DATABASE_DEV_URL=" + devURL}, atlasBin(t), args...)
}

// atlasWorkspace is a directory with the repository's atlas.hcl, a copy of
// migrations/ (or files) and schema.sql: the committed one with old
// replaced by new (its hash still that of ent/schema).
func atlasWorkspace(t *testing.T, old, new string, files ...string) string {
	t.Helper()
	ws := t.TempDir()
	hcl, err := os.ReadFile(filepath.Join(repoRoot, "atlas.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(ws, "atlas.hcl"), hcl, 0o644)
	schema, _ := os.ReadFile(filepath.Join(repoRoot, "schema.sql"))
	switch {
	case old == "":
		schema = append(schema, new...)
	case !strings.Contains(string(schema), old):
		t.Fatalf("schema.sql has no %q", old)
	default:
		schema = []byte(strings.Replace(string(schema), old, new, 1))
	}
	os.WriteFile(filepath.Join(ws, "schema.sql"), schema, 0o644)
	dst := filepath.Join(ws, "migrations")
	if files == nil {
		os.Rename(copyMigrations(t), dst)
		return ws
	}
	os.Mkdir(dst, 0o755)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o644)
	}
	return ws
}

// newFile is the one file of dir/migrations not in the repository's.
func newFile(t *testing.T, ws string) (string, []byte) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(ws, "migrations", "*.sql"))
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(repoRoot, "migrations", filepath.Base(f))); os.IsNotExist(err) {
			b, _ := os.ReadFile(f)
			return f, b
		}
	}
	t.Fatalf("no new file in %s", ws)
	return "", nil
}

// TestAtlasDiffParity: for the same migrations/ and schema.sql, 'atlas
// migrate diff --env local' and 'dbctl migrate diff' write the same bytes
// and the same atlas.sum; with a drop, dbctl's file is the CLI's under the
// warning header (finding 3).
func TestAtlasDiffParity(t *testing.T) {
	const ownerID = `"owner_id" character varying(25) NULL, PRIMARY KEY`
	cases := []struct {
		name, old, new string
		allowDrop      string
	}{
		{"add_column", ownerID, `"owner_id" character varying(25) NULL, "utm_source" character varying(100) NULL, PRIMARY KEY`, ""},
		{"add_not_null_default", ownerID, `"owner_id" character varying(25) NULL, "channel" character varying(20) NOT NULL DEFAULT 'web', PRIMARY KEY`, ""},
		{"widen_column", `"name" character varying(200) NOT NULL, "objective"`, `"name" character varying(300) NOT NULL, "objective"`, ""},
		{"add_index_and_table", "", "CREATE TABLE \"labels\" (\"id\" bigint NOT NULL, \"tenant_id\" character varying(25) NOT NULL REFERENCES \"tenants\" (\"id\"), PRIMARY KEY (\"id\"));\n" +
			"CREATE INDEX \"labels_tenant\" ON \"labels\" (\"tenant_id\");\nCREATE INDEX \"campaign_name\" ON \"campaigns\" (\"name\");\n", ""},
		{"drop_column", `"objective" text NULL, `, "", "campaigns.objective"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wsA, wsD := atlasWorkspace(t, tc.old, tc.new), atlasWorkspace(t, tc.old, tc.new)
			r := runAtlas(t, wsA, suitedb.EmptyURL(t), "migrate", "diff", tc.name, "--env", "local")
			r.Want(t, 0)
			schemaDir, _ := filepath.Abs(filepath.Join(repoRoot, "ent/schema"))
			args := []string{"migrate", "diff", tc.name, "--schema", schemaDir, "--dev-url", suitedb.EmptyURL(t)}
			if tc.allowDrop != "" {
				args = append(args, "--allow-drop", tc.allowDrop)
			}
			dbctlIn(t, wsD, args...).Want(t, 0)
			atlasPath, atlasBody := newFile(t, wsA)
			dbctlPath, dbctlBody := newFile(t, wsD)
			if tc.allowDrop != "" {
				header, rest, _ := strings.Cut(string(dbctlBody), "\n\n")
				if !strings.HasPrefix(header, "-- Warnings") {
					t.Fatalf("no warning header:\n%s", dbctlBody)
				}
				dbctlBody = []byte(rest)
			}
			if !bytes.Equal(atlasBody, dbctlBody) {
				t.Fatalf("files differ\natlas:\n%s\ndbctl:\n%s", atlasBody, dbctlBody)
			}
			if tc.allowDrop != "" {
				return
			}
			// Same name (the versions are clocks), then the same atlas.sum.
			os.Rename(atlasPath, filepath.Join(wsA, "migrations", filepath.Base(dbctlPath)))
			runAtlas(t, wsA, suitedb.EmptyURL(t), "migrate", "hash", "--env", "local").Want(t, 0)
			sumA, _ := os.ReadFile(filepath.Join(wsA, "migrations", "atlas.sum"))
			sumD, _ := os.ReadFile(filepath.Join(wsD, "migrations", "atlas.sum"))
			if !bytes.Equal(sumA, sumD) {
				t.Fatalf("atlas.sum differs\natlas:\n%s\ndbctl:\n%s", sumA, sumD)
			}
		})
	}
}

// TestAtlasLintParity: on each file of the lint fixture, and on renames,
// 'atlas migrate lint --latest 1' and 'dbctl migrate lint --latest 1'
// report the same Atlas codes on the same lines and exit alike; dbctl may
// add only its own codes (LM) and the rename it recognizes (BC101, BC102),
// and exits 1 on LM104 too (finding 3).
func TestAtlasLintParity(t *testing.T) {
	fixture, _ := filepath.Glob(filepath.Join(repoRoot, "internal/migrate/lint/testdata/lint", "*.sql"))
	extra := t.TempDir()
	renames := map[string]string{
		"20260111000000_rename_column.sql": "ALTER TABLE \"accounts\" RENAME COLUMN \"tier\" TO \"level\";\n",
		"20260112000000_rename_table.sql":  "ALTER TABLE \"sessions\" RENAME TO \"visits\";\n",
		"20260113000000_rename_ack.sql":    "-- A rename keeps the data.\n-- atlas:nolint DS102\nALTER TABLE \"visits\" RENAME TO \"stints\";\n",
	}
	var names []string
	for name := range renames {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		os.WriteFile(filepath.Join(extra, name), []byte(renames[name]), 0o644)
		fixture = append(fixture, filepath.Join(extra, name))
	}
	for i := 1; i < len(fixture); i++ {
		name := filepath.Base(fixture[i])
		t.Run(name, func(t *testing.T) {
			ws := atlasWorkspace(t, "", "", fixture[:i+1]...)
			devURL := suitedb.EmptyURL(t)
			runAtlas(t, ws, devURL, "migrate", "hash", "--env", "local").Want(t, 0)
			ra := runAtlas(t, ws, devURL, "migrate", "lint", "--env", "local", "--latest", "1", "--format", "{{ json .Files }}")
			body, _ := os.ReadFile(fixture[i])
			var files []struct {
				Reports []struct {
					Diagnostics []struct {
						Pos  int
						Code string
					}
				}
			}
			if strings.TrimSpace(ra.Stdout) != "null" && strings.TrimSpace(ra.Stdout) != "" {
				if err := json.Unmarshal([]byte(ra.Stdout), &files); err != nil {
					t.Fatalf("atlas lint output: %v\n%s\n%s", err, ra.Stdout, ra.Stderr)
				}
			}
			var atlasCodes []string
			for _, f := range files {
				for _, r := range f.Reports {
					for _, d := range r.Diagnostics {
						atlasCodes = append(atlasCodes, fmt.Sprintf("%d %s", lint.Line(body, d.Pos), d.Code))
					}
				}
			}
			rd := dbctlIn(t, ws, "migrate", "lint", "--latest", "1", "--dev-url", devURL, "--format", "json")
			var doc struct {
				Files []struct {
					Findings []struct {
						Line           int
						Code, Severity string
					}
				}
			}
			if err := json.Unmarshal([]byte(rd.Stdout), &doc); err != nil {
				t.Fatalf("dbctl lint output: %v\n%s\n%s", err, rd.Stdout, rd.Stderr)
			}
			var ours []string
			ownError := false
			for _, f := range doc.Files {
				for _, d := range f.Findings {
					code := fmt.Sprintf("%d %s", d.Line, d.Code)
					switch {
					case slices.Contains(atlasCodes, code):
						ours = append(ours, code)
					case strings.HasPrefix(d.Code, "LM"), d.Code == "BC101" || d.Code == "BC102":
						ownError = ownError || d.Severity == "error"
					default:
						t.Errorf("dbctl reports %s, the official CLI does not (it reports %v)", code, atlasCodes)
					}
				}
			}
			slices.Sort(ours)
			slices.Sort(atlasCodes)
			if !slices.Equal(ours, atlasCodes) {
				t.Errorf("Atlas codes: dbctl %v, official CLI %v", ours, atlasCodes)
			}
			if rd.Code != ra.Code && !(ownError && rd.Code == 1) {
				t.Errorf("exit: dbctl %d, official CLI %d\natlas: %s%s\ndbctl: %s", rd.Code, ra.Code, ra.Stdout, ra.Stderr, rd.Stderr)
			}
		})
	}
}
