package ent

// The client and schema.sql from ent/schema (entc.go; -C: its paths are the
// repository's).
//go:generate go run -C .. ./ent/entc.go
