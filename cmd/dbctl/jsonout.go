package main

import (
	"io"

	"github.com/leadmetrics/db/internal/cli"
	"github.com/leadmetrics/db/internal/migrate/history"
	"github.com/leadmetrics/db/internal/migrate/lint"
	"github.com/leadmetrics/db/internal/migrate/review"
)

// lintJSON is migrate lint (and review) --format json: per new file, its
// findings, the acknowledged ones and (review) its schema changes.
type lintJSON struct {
	Dir          string         `json:"dir"`
	From         string         `json:"from_version,omitempty"`
	To           string         `json:"to_version,omitempty"`
	Errors       int            `json:"errors"`
	Warnings     int            `json:"warnings"`
	Acknowledged int            `json:"acknowledged"`
	Files        []lintFileJSON `json:"files"`
}

type lintFileJSON struct {
	Name         string        `json:"name"`
	Ignored      bool          `json:"ignored,omitempty"`
	Findings     []findingJSON `json:"findings"`
	Acknowledged []findingJSON `json:"acknowledged"`
	Changes      []review.Item `json:"changes,omitempty"`
	SQL          string        `json:"sql,omitempty"`
}

type findingJSON struct {
	Line     int      `json:"line"`
	Code     string   `json:"code"`
	Severity string   `json:"severity"`
	Analyzer string   `json:"analyzer,omitempty"`
	Message  string   `json:"message"`
	Report   string   `json:"report"`
	Fixes    []string `json:"suggested_fixes,omitempty"`
	Doc      string   `json:"doc"`
}

func findingsJSON(fs []lint.Finding) []findingJSON {
	out := make([]findingJSON, 0, len(fs))
	for _, d := range fs {
		out = append(out, findingJSON{Line: d.Line, Code: d.Code, Severity: d.Severity(), Analyzer: d.Analyzer,
			Message: d.Message, Report: d.Report, Fixes: d.Fixes, Doc: lint.DocURL(d.Code)})
	}
	return out
}

// writeLintJSON prints res; withChanges adds each file's schema changes
// and SQL (review).
func writeLintJSON(out io.Writer, dir string, res *lint.Result, withChanges bool) error {
	doc := lintJSON{Dir: dir, Errors: res.Errors(), Warnings: res.Warnings(), Acknowledged: res.Acknowledged(), Files: []lintFileJSON{}}
	if len(res.Base) > 0 {
		doc.From = res.Base[len(res.Base)-1].Version()
	}
	if len(res.Files) > 0 {
		doc.To = res.Files[len(res.Files)-1].Version()
	}
	for _, f := range res.Files {
		fj := lintFileJSON{Name: f.Name(), Ignored: f.Ignored, Findings: findingsJSON(f.Findings), Acknowledged: findingsJSON(f.Acknowledged)}
		if withChanges {
			fj.Changes, fj.SQL = review.Items(f), string(f.Bytes())
		}
		doc.Files = append(doc.Files, fj)
	}
	return cli.WriteJSON(out, doc)
}

// historyJSON is migrate history --format json.
type historyJSON struct {
	Dir        string              `json:"dir"`
	Base       string              `json:"base,omitempty"`
	How        string              `json:"how"`
	AppendOnly bool                `json:"append_only"`
	Violations []history.Violation `json:"violations"`
}
