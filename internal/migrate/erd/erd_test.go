package erd_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ariga.io/atlas/sql/migrate"

	"github.com/leadmetrics/db/internal/migrate/dev"
	"github.com/leadmetrics/db/internal/migrate/erd"
	"github.com/leadmetrics/db/internal/testing/suitedb"
)

func render(t *testing.T, dir migrate.Dir) []byte {
	t.Helper()
	realm, err := dev.Inspect(context.Background(), suitedb.EmptyURL(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	return erd.Render(realm)
}

func fixture(t *testing.T) *migrate.MemDir {
	t.Helper()
	local, err := migrate.NewLocalDir("testdata/migrations")
	if err != nil {
		t.Fatal(err)
	}
	files, err := local.Files()
	if err != nil {
		t.Fatal(err)
	}
	mem := &migrate.MemDir{}
	if err := mem.CopyFiles(files); err != nil {
		t.Fatal(err)
	}
	rehash(t, mem)
	return mem
}

func rehash(t *testing.T, dir migrate.Dir) {
	t.Helper()
	sum, err := dir.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate.WriteSumFile(dir, sum); err != nil {
		t.Fatal(err)
	}
}

func TestRender(t *testing.T) {
	doc := string(render(t, fixture(t)))
	for _, want := range []string{
		"```mermaid\nerDiagram\n",
		"  accounts {\n    varchar(25) id PK\n    varchar(320) email\n    timestamptz deleted_at\n    bigint balance\n  }\n",
		"    varchar(25) account_id FK, UK\n", // profiles: one profile per account
		`  accounts ||--o| profiles : "account_id"` + "\n",
		`  accounts |o--o{ sessions : "account_id"` + "\n", // nullable: a session may have no account
		"| email | character varying(320) | NO |  |\n",
		"| balance | bigint | NO | `0` |\n",
		"| account_email | yes | `(email)` | `(deleted_at IS NULL)` |\n",
		"| profiles_accounts_profile | `(account_id) REFERENCES accounts (id) ON DELETE CASCADE` |\n",
		"| balance_non_negative | `(balance >= 0)` |\n",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("document lacks %q:\n%s", want, doc)
		}
	}
	if again := string(render(t, fixture(t))); again != doc {
		t.Fatal("two renders of the same schema differ")
	}
}

// TestStaleDocumentFails: a document generated before a schema change no
// longer matches; regenerating makes it fresh again.
func TestStaleDocumentFails(t *testing.T) {
	dir := fixture(t)
	path := filepath.Join(t.TempDir(), "schema.md")
	if err := os.WriteFile(path, render(t, dir), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := erd.Check(path, render(t, dir)); err != nil {
		t.Fatalf("fresh document: %v", err)
	}

	if err := dir.WriteFile("20260102000000_nickname.sql", []byte(`ALTER TABLE "accounts" ADD COLUMN "nickname" character varying(50) NULL;`+"\n")); err != nil {
		t.Fatal(err)
	}
	rehash(t, dir)
	changed := render(t, dir)
	if err := erd.Check(path, changed); !errors.Is(err, erd.ErrStale) {
		t.Fatalf("after a schema change without regenerating: got %v, want ErrStale", err)
	}
	if err := os.WriteFile(path, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := erd.Check(path, changed); err != nil {
		t.Fatalf("regenerated: %v", err)
	}
}
