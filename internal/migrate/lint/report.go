package lint

import (
	"fmt"
	"io"
	"path"
	"strings"

	"ariga.io/atlas/sql/migrate"
)

// Latest splits files into the base and the newest n, which are new; with
// n < 1 or n >= len(files) every file is new.
func Latest(files []migrate.File, n int) (base, added []migrate.File) {
	if n < 1 || n >= len(files) {
		return nil, files
	}
	return files[:len(files)-n], files[len(files)-n:]
}

// Since splits files at the first one that landed does not hold: that file
// and every later one are new, since the history is linear (as the CLI's
// git change detector does).
func Since(files []migrate.File, landed map[string]bool) (base, added []migrate.File) {
	for i, f := range files {
		if !landed[f.Name()] {
			return files[:i], files[i:]
		}
	}
	return files, nil
}

// DocURL is where a code is explained: Atlas's page for its analyzers,
// MIGRATIONS.md for ours.
func DocURL(code string) string {
	if strings.HasPrefix(code, "LM") {
		return "MIGRATIONS.md#lint-codes"
	}
	return "https://atlasgo.io/lint/analyzers#" + code
}

// WriteText prints r one finding per line as "dir/file:line: CODE
// severity: message (report)", each followed by its suggested fixes.
func WriteText(w io.Writer, dir string, r *Result) {
	switch {
	case len(r.Files) == 0:
		fmt.Fprintln(w, "no new migration files to lint")
		return
	case len(r.Base) > 0:
		fmt.Fprintf(w, "Analyzing changes from version %s to %s (%d migration(s) in total):\n\n",
			r.Base[len(r.Base)-1].Version(), r.Files[len(r.Files)-1].Version(), len(r.Files))
	default:
		fmt.Fprintf(w, "Analyzing changes until version %s (%d migration(s) in total):\n\n", r.Files[len(r.Files)-1].Version(), len(r.Files))
	}
	for _, f := range r.Files {
		name := path.Join(dir, f.Name())
		switch {
		case f.Ignored:
			fmt.Fprintf(w, "%s: skipped (-- atlas:nolint)\n", name)
		case len(f.Findings) == 0:
			fmt.Fprintf(w, "%s: no diagnostics found\n", name)
		}
		for _, d := range f.Acknowledged {
			fmt.Fprintf(w, "%s:%d: %s %s acknowledged (atlas:nolint): %s\n", name, d.Line, d.Code, d.Severity(), d.Message)
		}
		for _, d := range f.Findings {
			fmt.Fprintf(w, "%s:%d: %s %s: %s (%s)\n", name, d.Line, d.Code, d.Severity(), d.Message, d.Report)
			for _, x := range d.Fixes {
				fmt.Fprintf(w, "    suggested fix: %s\n", x)
			}
			fmt.Fprintf(w, "    see %s\n", DocURL(d.Code))
		}
	}
	fmt.Fprintf(w, "\n%d file(s) analyzed: %d error(s), %d warning(s), %d acknowledged\n", len(r.Files), r.Errors(), r.Warnings(), r.Acknowledged())
}

// Severity is "error" or "warning".
func (d Finding) Severity() string {
	if d.Error {
		return "error"
	}
	return "warning"
}
