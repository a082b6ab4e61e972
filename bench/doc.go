// Package bench compares the Ent client with raw pgx and raw lib/pq on the
// same tables; see BENCHMARKS.md for the command and the figures.
package bench
