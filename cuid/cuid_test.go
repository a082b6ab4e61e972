package cuid

import "testing"

func TestNewFormatAndUniqueness(t *testing.T) {
	seen := make(map[string]bool, 100000)
	for range 100000 {
		id := New()
		if !Valid(id) {
			t.Fatalf("invalid cuid %q", id)
		}
		if seen[id] {
			t.Fatalf("duplicate cuid %q", id)
		}
		seen[id] = true
	}
}

func TestValidRejects(t *testing.T) {
	for _, s := range []string{"", "c", "x" + New()[1:], New() + "a", "cABCDEFGHIJKLMNOPQRSTUVWX", "c-bcdefghijklmnopqrstuvwx"} {
		if Valid(s) {
			t.Errorf("Valid(%q) = true", s)
		}
	}
}
