package input_test

import (
	"testing"

	"github.com/leadmetrics/db/ent"
)

// BenchmarkCheckInput is the client CPU the check adds to one create of an
// activity with typical text and a small JSON input (no database).
//
//	go test -run '^$' -bench CheckInput -benchmem ./input
func BenchmarkCheckInput(b *testing.B) {
	m := ent.NewClient().Activity.Create().SetType("blog_post").SetTitle("Write the launch post").
		SetInput(map[string]any{"topic": "launch", "tone": "friendly", "keywords": []any{"ai", "marketing", "leads"},
			"limits": map[string]any{"words": 800}}).
		SetError("").Mutation()
	for b.Loop() {
		if err := m.CheckInput(); err != nil {
			b.Fatal(err)
		}
	}
}
