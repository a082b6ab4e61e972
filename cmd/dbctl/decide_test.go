package main

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/leadmetrics/db/internal/migrate/dev"
)

// TestAskDrop: the terminal question of a dropped column: a number or a
// name renames, d drops, q stops, anything else asks again.
func TestAskDrop(t *testing.T) {
	d := dev.Drop{Table: "campaigns", Column: "utm_source", Type: "character varying(100)", Candidates: []string{"utm_src", "utm_origin"}}
	for input, want := range map[string]string{
		"1\n": "utm_src", "2\n": "utm_origin", "utm_origin\n": "utm_origin", "d\n": "", "DROP\n": "", "x\n\n3\n1\n": "utm_src",
	} {
		var prompt bytes.Buffer
		got, err := askDrop(bufio.NewReader(strings.NewReader(input)), &prompt, d)
		if err != nil || got.RenameTo != want {
			t.Errorf("answer %q: rename to %q (%v), want %q", input, got.RenameTo, err, want)
		}
		if !strings.Contains(prompt.String(), "column campaigns.utm_source (character varying(100)) is gone") ||
			!strings.Contains(prompt.String(), "1) rename it to utm_src (the data is kept)") || !strings.Contains(prompt.String(), "d) drop it (its data is lost)") {
			t.Errorf("prompt:\n%s", prompt.String())
		}
	}
	for _, input := range []string{"q\n", ""} {
		if _, err := askDrop(bufio.NewReader(strings.NewReader(input)), &bytes.Buffer{}, d); err == nil {
			t.Errorf("answer %q: no error", input)
		}
	}
}
