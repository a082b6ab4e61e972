package cuid

import (
	"strconv"
	"testing"
)

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

// TestDigits: each block is the last digits of its value in base 36,
// zero-padded, as strconv writes them.
func TestDigits(t *testing.T) {
	for _, v := range []uint64{0, 1, 35, 36, 1295, 1296, 1679615, 1679616, 1764979200000, 1<<63 + 12345, ^uint64(0)} {
		for _, n := range []int{2, 4, 8} {
			b := make([]byte, n)
			digits(b, v)
			if want := pad(strconv.FormatUint(v, base), n); string(b) != want {
				t.Errorf("digits(%d, %d) = %q, want %q", v, n, b, want)
			}
		}
	}
}
