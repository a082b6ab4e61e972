//go:build ignore

// Command entc is go generate's step for the schema (ent/generate.go runs
// it from the repository's root): from one load of the ent/schema source
// it writes the Ent client (ent/, with the tenancy templates of
// ent/template) and schema.sql, printing what it does. It needs no
// database server.
package main

import (
	"log"
	"os"

	"github.com/leadmetrics/db/internal/migrate/entgen"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("entc: ")
	o := entgen.Default()
	o.Log = func(format string, args ...any) { log.Printf(format, args...) }
	if err := entgen.Run(o); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}
