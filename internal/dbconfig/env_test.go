package dbconfig_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/leadmetrics/db/internal/dbconfig"
	"github.com/leadmetrics/db/internal/testing/suitedb"
)

func names(r dbconfig.Reader) []string {
	var out []string
	for _, v := range dbconfig.Vars {
		if v.ReadBy == r {
			out = append(out, v.Name)
		}
	}
	slices.Sort(out)
	return out
}

// TestVarsAreWhatFromEnvReads: the ByConfig variables are exactly the ones
// FromEnv looks up, so a new setting cannot miss the help or the README.
func TestVarsAreWhatFromEnvReads(t *testing.T) {
	var read []string
	if _, err := dbconfig.FromLookup(func(name string) (string, bool) {
		if !slices.Contains(read, name) {
			read = append(read, name)
		}
		return "", false
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(read)
	if want := names(dbconfig.ByConfig); !slices.Equal(read, want) {
		t.Errorf("FromLookup reads %v, Vars lists %v for it", read, want)
	}
}

// getenv is a read of the environment: its argument a literal or a
// constant of the same package.
var (
	getenv   = regexp.MustCompile(`os\.(?:Getenv|LookupEnv)\(("[A-Za-z0-9_]+"|[A-Za-z0-9_.]+)\)`)
	constDef = `(?m)\b%s\s*=\s*"([A-Za-z0-9_]+)"`
)

// TestEveryVariableTheModuleReadsIsListed: every os.Getenv and
// os.LookupEnv of the module's Go code (tests included; the generated ent/
// reads none) names a variable of Vars, and every variable outside
// FromEnv's is read somewhere.
func TestEveryVariableTheModuleReadsIsListed(t *testing.T) {
	root := suitedb.ModuleRoot(t)
	seen := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "vendor" || path == filepath.Join(root, "ent")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, m := range getenv.FindAllStringSubmatch(string(src), -1) {
			name := strings.Trim(m[1], `"`)
			if !strings.HasPrefix(m[1], `"`) {
				name = resolveConst(t, filepath.Dir(path), m[1])
			}
			seen[name] = append(seen[name], rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, v := range dbconfig.Vars {
		listed[v.Name] = true
		if _, ok := seen[v.Name]; !ok && v.ReadBy != dbconfig.ByConfig {
			t.Errorf("Vars lists %s, which no Go code reads", v.Name)
		}
	}
	for name, files := range seen {
		if !listed[name] {
			t.Errorf("%s reads %s, which dbconfig.Vars does not list (add it: the help and README follow)", files[0], name)
		}
	}
}

// resolveConst finds the string constant ident of the package in dir
// (secrets.EnvKeys is "CREDENTIALS_KEYS").
func resolveConst(t *testing.T, dir, ident string) string {
	t.Helper()
	ident = ident[strings.LastIndex(ident, ".")+1:]
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	re := regexp.MustCompile(strings.Replace(constDef, "%s", regexp.QuoteMeta(ident), 1))
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if m := re.FindSubmatch(src); m != nil {
			return string(m[1])
		}
	}
	t.Fatalf("os.Getenv(%s) in %s: no string constant %s there to resolve", ident, dir, ident)
	return ""
}

// TestReadmeEnvironmentTable: the README's table is Markdown(), word for
// word.
func TestReadmeEnvironmentTable(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(suitedb.ModuleRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := dbconfig.Markdown(); !strings.Contains(string(readme), want) {
		t.Errorf("README.md's environment table is not dbconfig.Vars; paste this:\n%s", want)
	}
}

// TestConfigDocsNameEveryVariable: the doc comments of db.ConfigFromEnv
// and FromEnv name exactly the variables FromEnv reads.
func TestConfigDocsNameEveryVariable(t *testing.T) {
	root := suitedb.ModuleRoot(t)
	want := names(dbconfig.ByConfig)
	for _, c := range []struct{ dir, fn string }{{root, "ConfigFromEnv"}, {".", "FromEnv"}} {
		doc := funcDoc(t, c.dir, c.fn)
		var got []string
		for _, n := range regexp.MustCompile(`\bDATABASE_[A-Z_]+`).FindAllString(doc, -1) {
			if !slices.Contains(got, n) {
				got = append(got, n)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s's doc comment names %v, FromEnv reads %v", c.fn, got, want)
		}
	}
}

// funcDoc is the doc comment of the function name in the package in dir.
func funcDoc(t *testing.T, dir, name string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == name && fn.Doc != nil {
				return fn.Doc.Text()
			}
		}
	}
	t.Fatalf("no documented func %s in %s", name, dir)
	return ""
}
