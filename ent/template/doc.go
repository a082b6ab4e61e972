// Package template holds the Ent templates that wire tenant isolation into
// the generated client (ent/entc.go loads them); its test guards the
// blocks that override Ent's own.
package template
