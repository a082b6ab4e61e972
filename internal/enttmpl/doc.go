// Package enttmpl holds the Ent templates that wire tenant isolation into
// the generated client (internal/cmd/entc loads them); its test guards the
// blocks that override Ent's own.
package enttmpl
