// Package readonly marks a context whose work may read slightly stale data from a standby and must not write (db.ReadOnlyContext).
package readonly

import (
	"context"
	"errors"
)

// ErrWrite matches a write attempted under a read-only context.
var ErrWrite = errors.New("db: write under a read-only context (db.ReadOnlyContext)")

type key struct{}

// With marks ctx read-only.
func With(ctx context.Context) context.Context { return context.WithValue(ctx, key{}, true) }

// Is reports whether ctx is read-only.
func Is(ctx context.Context) bool { v, _ := ctx.Value(key{}).(bool); return v }
