package lint_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"ariga.io/atlas/sql/migrate"

	"github.com/leadmetrics/db/internal/migrate/lint"
	"github.com/leadmetrics/db/internal/testing/suitedb"
	"github.com/leadmetrics/db/migrations"
)

func fixture(t *testing.T) []migrate.File {
	t.Helper()
	dir, err := migrate.NewLocalDir("testdata/lint")
	if err != nil {
		t.Fatal(err)
	}
	if err := migrations.Validate(dir); err != nil {
		t.Fatal(err)
	}
	files, err := dir.Files()
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// key is a finding reduced to what the test pins: where and which code.
func key(d lint.Finding) string {
	return fmt.Sprintf("%s:%d %s %s", d.File, d.Line, d.Code, d.Severity())
}

// TestFixtureFindings lints every file of testdata/lint after its base file
// and checks each finding's file, line, code and severity, plus the
// official wording of the open-source analyzers.
func TestFixtureFindings(t *testing.T) {
	files := fixture(t)
	base, added := lint.Latest(files, len(files)-1)
	res, err := lint.Run(context.Background(), suitedb.EmptyURL(t), base, added)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	msgs := map[string]string{}
	for _, f := range res.Files {
		for _, d := range f.Findings {
			got = append(got, key(d))
			msgs[d.Code+" "+d.File] = d.Message
			if len(d.Fixes) == 0 {
				t.Errorf("%s has no suggested fix", key(d))
			}
		}
	}
	want := []string{
		"20260102000000_drop_column.sql:2 DS103 error",
		"20260103000000_add_not_null.sql:2 MF103 warning",
		"20260104000000_indexes.sql:6 LM101 warning", // not line 4: that index is on a table of the same file
		"20260105000000_drop_table.sql:2 DS102 error",
		"20260106000000_acknowledged.sql:3 MF103 warning", // its DS103 is acknowledged
		"20260107000000_rewrites.sql:2 LM102 warning",     // gen_random_uuid(); now() on line 4 is stable
		"20260107000000_rewrites.sql:6 LM103 warning",     // integer to bigint; varchar widening on line 8 is free
		"20260107000000_rewrites.sql:9 DS103 error",       // the community CLI reads a rename as a drop and an add
		"20260107000000_rewrites.sql:9 MF103 warning",     // and the added column as NOT NULL without default
		"20260107000000_rewrites.sql:9 BC102 warning",     // on top: what it is, a rename
		"20260108000000_concurrent_in_tx.sql:1 LM104 error",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("findings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for code, msg := range map[string]string{
		"DS103 20260102000000_drop_column.sql":  `Dropping non-virtual column "legacy_code"`,
		"MF103 20260103000000_add_not_null.sql": `Adding a non-nullable "character varying(10)" column "region" will fail in case table "accounts" is not empty`,
		"DS102 20260105000000_drop_table.sql":   `Dropping table "old_reports"`,
		"BC102 20260107000000_rewrites.sql":     `Renaming column "name" to "display_name"`,
	} {
		if msgs[code] != msg {
			t.Errorf("%s: message %q, want the CLI's %q", code, msgs[code], msg)
		}
	}
	if last := res.Files[len(res.Files)-1]; !last.Ignored || len(last.Findings) != 0 ||
		len(last.Acknowledged) != 1 || last.Acknowledged[0].Code != "DS102" || !last.Acknowledged[0].Error {
		t.Errorf("file-level bare nolint: ignored=%v findings=%v acknowledged=%v", last.Ignored, last.Findings, last.Acknowledged)
	}
	var acked []string
	for _, f := range res.Files {
		for _, d := range f.Acknowledged {
			acked = append(acked, key(d))
		}
	}
	if want := []string{"20260106000000_acknowledged.sql:3 DS103 error", "20260110000000_ignored.sql:3 DS102 error"}; !slices.Equal(acked, want) {
		t.Errorf("acknowledged %v, want %v", acked, want)
	}
	if res.Errors() != 4 || res.Warnings() != 7 || !errors.Is(res.Err(), lint.ErrFindings) {
		t.Fatalf("errors=%d warnings=%d err=%v", res.Errors(), res.Warnings(), res.Err())
	}

	var out bytes.Buffer
	lint.WriteText(&out, "testdata/lint", res)
	for _, line := range []string{
		`testdata/lint/20260102000000_drop_column.sql:2: DS103 error: Dropping non-virtual column "legacy_code" (destructive changes detected)`,
		`    suggested fix: Add a pre-migration check to ensure column "legacy_code" is NULL before dropping it`,
		"9 file(s) analyzed: 4 error(s), 7 warning(s), 2 acknowledged",
		`testdata/lint/20260106000000_acknowledged.sql:3: DS103 error acknowledged (atlas:nolint): Dropping non-virtual column "score"`,
	} {
		if !strings.Contains(out.String(), line+"\n") {
			t.Errorf("text output lacks %q:\n%s", line, out.String())
		}
	}
}

// TestNolintSilencesExactlyItsCode lints one statement that both drops a
// column (DS103) and adds a non-null one (MF103) under each directive form.
func TestNolintSilencesExactlyItsCode(t *testing.T) {
	const stmt = `ALTER TABLE "accounts" DROP COLUMN "legacy_code", ADD COLUMN "tier" integer NOT NULL;` + "\n"
	base := fixture(t)[:1]
	for _, tc := range []struct {
		name, content string
		want          []string
	}{
		{"none", stmt, []string{"DS103", "MF103"}},
		{"statement code", "-- atlas:nolint DS103\n" + stmt, []string{"MF103"}},
		{"statement other code", "-- atlas:nolint MF103\n" + stmt, []string{"DS103"}},
		{"statement analyzer", "-- atlas:nolint data_depend\n" + stmt, []string{"DS103"}},
		{"statement both", "-- atlas:nolint DS103 MF103\n" + stmt, nil},
		{"statement bare", "-- atlas:nolint\n" + stmt, nil},
		{"unrelated code", "-- atlas:nolint DS102\n" + stmt, []string{"DS103", "MF103"}},
		{"header code", "-- atlas:nolint DS103\n\n" + stmt, []string{"MF103"}},
		{"header bare", "-- atlas:nolint\n\n" + stmt, nil},
		{"other statement", "-- atlas:nolint DS103\nSELECT 1;\n" + stmt, []string{"DS103", "MF103"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := migrate.NewLocalFile("20260102000000_x.sql", []byte(tc.content))
			res, err := lint.Run(context.Background(), suitedb.EmptyURL(t), base, []migrate.File{f})
			if err != nil {
				t.Fatal(err)
			}
			var codes []string
			for _, d := range res.Files[0].Findings {
				codes = append(codes, d.Code)
			}
			if !slices.Equal(codes, tc.want) {
				t.Fatalf("codes %v, want %v", codes, tc.want)
			}
			// A silenced destructive finding no longer fails the lint.
			if wantErr := slices.Contains(tc.want, "DS103"); (res.Err() != nil) != wantErr {
				t.Fatalf("Err() = %v, want error %v", res.Err(), wantErr)
			}
		})
	}
}

// TestInitialMigrationLintsClean: with nothing to compare, CI lints the
// newest file; on a fresh history that is the initial migration, which
// creates every table and must lint clean.
func TestInitialMigrationLintsClean(t *testing.T) {
	dir, err := migrations.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	files, err := dir.Files()
	if err != nil {
		t.Fatal(err)
	}
	res, err := lint.Run(context.Background(), suitedb.EmptyURL(t), nil, files[:1])
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Files[0].Findings); n != 0 {
		t.Fatalf("initial migration has %d findings: %+v", n, res.Files[0].Findings)
	}
}

// TestBrokenFileIsALoadError: a statement that fails on the dev database
// is reported with its file and line.
func TestBrokenFileIsALoadError(t *testing.T) {
	f := migrate.NewLocalFile("20260102000000_bad.sql", []byte("-- comment\nALTER TABLE \"nope\" ADD COLUMN \"x\" int;\n"))
	_, err := lint.Run(context.Background(), suitedb.EmptyURL(t), fixture(t)[:1], []migrate.File{f})
	var le *lint.LoadError
	if !errors.As(err, &le) || le.File != f.Name() || le.Line != 2 {
		t.Fatalf("got %v, want a LoadError at %s:2", err, f.Name())
	}
}
