// Package db opens the Leadmetrics PostgreSQL data layer: a ready Ent client,
// its configuration, and the embedded migrations applied at start-up.
package db

//go:generate go run ./internal/cmd/entc
