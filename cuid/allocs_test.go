//go:build !race

package cuid

import "testing"

// The race detector allocates on its own; allocation counts are checked
// without it (scripts/test.sh runs the allocation guards so).

func TestNewAllocatesOnce(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _ = New() }); n > 1 {
		t.Errorf("New allocates %v times, want 1", n)
	}
}
