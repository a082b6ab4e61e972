package lint

import (
	"slices"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/sqlcheck"
)

// nolint holds a file's "atlas:nolint" directives, read the way the
// official CLI reads them:
//   - a bare "-- atlas:nolint" in the file header (the comment block that a
//     blank line separates from the first statement) skips the whole file;
//   - a header directive with arguments ("-- atlas:nolint DS103 MF103" or an
//     analyzer name such as "destructive") applies to every statement;
//   - a directive in the comments right above a statement applies to that
//     statement: bare for all its findings, or the codes/analyzers listed.
type nolint struct {
	ignored bool
	// rules per statement position: codes and analyzer names, or the single
	// empty string for "everything".
	rules map[int][]string
}

func readNolint(f *sqlcheck.File) *nolint {
	n := &nolint{rules: map[int][]string{}}
	if lf, ok := f.File.(*migrate.LocalFile); ok {
		ds := lf.Directive("nolint")
		if n.ignored = len(ds) == 1 && ds[0] == ""; n.ignored {
			return n
		}
		for _, d := range ds {
			for _, c := range f.Changes {
				n.rules[c.Stmt.Pos] = append(n.rules[c.Stmt.Pos], strings.Split(d, " ")...)
			}
		}
	}
	for _, c := range f.Changes {
		for _, d := range c.Stmt.Directive("nolint") {
			n.rules[c.Stmt.Pos] = append(n.rules[c.Stmt.Pos], strings.Split(d, " ")...)
		}
	}
	return n
}

// silenced reports whether a finding of code by analyzer at pos was
// acknowledged.
func (n *nolint) silenced(pos int, code, analyzer string) bool {
	rules := n.rules[pos]
	return len(rules) == 1 && rules[0] == "" || slices.Contains(rules, code) || analyzer != "" && slices.Contains(rules, analyzer)
}
