package template

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// overridden lists Ent's template blocks that this package replaces, with
// the digest of Ent's original (the version go.mod pins). When Ent changes
// one of them, this test fails: port the change into the override, keeping
// its calls into internal/runtime/scope, then update the digest.
var overridden = map[string]string{
	"dialect/sql/query":              "8e14b8b00b10db37", // query.tmpl
	"dialect/sql/decode/one":         "d0a0bcac4a39248b", // decode.tmpl
	"dialect/sql/query/selector":     "b19d17bd3f51ad0c",
	"dialect/sql/query/preparecheck": "bef842238e9081dc",
	"dialect/sql/select":             "9c2e88b13cf74b41",
	"dialect/sql/group":              "ae4a612b6bb1662f",
	"dialect/sql/delete":             "5f0200f3a47cc2f7",
	"dialect/sql/update":             "8a719d26595f89b5", // update.tmpl
	"dialect/sql/create":             "8e0d0f70c48e5380", // create.tmpl
	"dialect/sql/create_bulk":        "65159869983b5918", // create_bulk.tmpl
}

func TestTemplateOverrides(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "entgo.io/ent").Output()
	if err != nil {
		t.Fatalf("locate entgo.io/ent: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "entc", "gen", "template", "dialect", "sql")
	files, err := filepath.Glob(filepath.Join(dir, "*.tmpl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("ent templates in %s: %v", dir, err)
	}
	found := map[string]string{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for name := range overridden {
			if block, ok := defineBlock(string(src), name); ok {
				sum := sha256.Sum256([]byte(block))
				found[name] = hex.EncodeToString(sum[:8])
			}
		}
	}
	for name, want := range overridden {
		if got := found[name]; got != want {
			t.Errorf("ent's %q changed (digest %s, recorded %s): re-check its override", name, got, want)
		}
	}
}

// defineBlock returns the text of {{ define "name" }} ... up to the next
// top-level {{ end }} that closes it (blocks are counted by their actions).
func defineBlock(src, name string) (string, bool) {
	start := strings.Index(src, `{{ define "`+name+`" }}`)
	if start < 0 {
		start = strings.Index(src, `{{ define "`+name+`" -}}`)
	}
	if start < 0 {
		return "", false
	}
	actions := regexp.MustCompile(`{{-?\s*(define|if|range|with|block|end)\b`)
	depth := 0
	for _, m := range actions.FindAllStringSubmatchIndex(src[start:], -1) {
		switch src[start+m[2] : start+m[3]] {
		case "end":
			depth--
			if depth == 0 {
				return src[start : start+m[1]], true
			}
		default:
			depth++
		}
	}
	return "", false
}
