// Package entgen is the project's Ent code generation: the feature set and
// tenancy templates of the client, and everything one load of the
// ent/schema source produces: the client (ent/) and schema.sql. go
// generate (ent/entc.go) and 'dbctl migrate dev' both run it, so they
// write the same files. Nothing here needs a database.
package entgen

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"

	"github.com/leadmetrics/db/internal/migrate/dev"
)

// Options says where the schema, the client and schema.sql are.
type Options struct {
	Schema    string // the schema package, e.g. "./ent/schema"
	Target    string // the client's directory, e.g. "./ent"
	Package   string // the client's import path
	Templates string // the tenancy templates, e.g. "ent/template"
	SchemaSQL string // where schema.sql goes
	// Log receives progress lines; nil discards them.
	Log func(format string, args ...any)
}

// Default is the repository layout, relative to its root.
func Default() Options {
	return Options{Schema: "./ent/schema", Target: "./ent", Package: "github.com/leadmetrics/db/ent",
		Templates: "ent/template", SchemaSQL: "schema.sql"}
}

func (o Options) logf(format string, args ...any) {
	if o.Log != nil {
		o.Log(format, args...)
	}
}

// config is the client's generation configuration.
func (o Options) config() (*gen.Config, error) {
	storage, err := gen.NewStorage("sql")
	if err != nil {
		return nil, err
	}
	tmpl, err := gen.NewTemplate("tenancy").ParseDir(o.Templates)
	if err != nil {
		return nil, fmt.Errorf("entgen: templates %s: %w", o.Templates, err)
	}
	return &gen.Config{
		Target:  o.Target,
		Package: o.Package,
		Storage: storage,
		Features: []gen.Feature{
			gen.FeaturePrivacy,
			gen.FeatureIntercept,
			gen.FeatureUpsert,
			gen.FeatureVersionedMigration,
			gen.FeatureLock,
			gen.FeatureModifier,
			gen.FeatureExecQuery,
		},
		// Tenancy: edge predicates, selector contexts, upsert guards and
		// batched cross-tenant checks (see internal/runtime/scope). EntQL is off: its
		// edge predicates would bypass the edge filter.
		Templates: []*gen.Template{gen.MustParse(tmpl, nil)},
	}, nil
}

// Load loads the schema graph from source: Ent builds and runs a small
// program importing the schema package (the client it imports comes from
// the build cache when it did not change).
func Load(o Options) (*gen.Graph, error) {
	cfg, err := o.config()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	o.logf("loading %s (builds the schema package and runs it)", o.Schema)
	graph, err := entc.LoadGraph(o.Schema, cfg)
	if err != nil {
		return nil, fmt.Errorf("entgen: load %s: %w", o.Schema, err)
	}
	o.logf("loaded %d entities in %s", len(graph.Nodes), since(start))
	return graph, nil
}

// GenerateClient writes the client of graph into its target directory.
func GenerateClient(o Options, graph *gen.Graph) error {
	start := time.Now()
	o.logf("generating the client in %s", o.Target)
	if err := graph.Gen(); err != nil {
		return fmt.Errorf("entgen: generate %s: %w", o.Target, err)
	}
	o.logf("generated %s in %s", o.Target, since(start))
	return nil
}

// WriteSchemaSQL renders graph's tables as schema.sql, with the hash of the
// schema source, and writes it when it changed (keeping its mtime
// otherwise). It returns the file's content.
func WriteSchemaSQL(o Options, graph *gen.Graph) ([]byte, error) {
	tables, err := dev.TablesOf(graph)
	if err != nil {
		return nil, err
	}
	body, err := dev.SchemaSQL(tables)
	if err != nil {
		return nil, err
	}
	hash, err := dev.SchemaHash(o.Schema)
	if err != nil {
		return nil, err
	}
	doc := dev.SchemaFile(hash, body)
	if old, err := os.ReadFile(o.SchemaSQL); err == nil && bytes.Equal(old, doc) {
		o.logf("%s unchanged", o.SchemaSQL)
		return doc, nil
	}
	if err := os.MkdirAll(filepath.Dir(o.SchemaSQL), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(o.SchemaSQL, doc, 0o644); err != nil {
		return nil, err
	}
	o.logf("wrote %s (%d tables, no database needed)", o.SchemaSQL, len(tables))
	return doc, nil
}

// Run is go generate's step: load, write the client and schema.sql.
func Run(o Options) error {
	graph, err := Load(o)
	if err != nil {
		return err
	}
	if err := GenerateClient(o, graph); err != nil {
		return err
	}
	_, err = WriteSchemaSQL(o, graph)
	return err
}

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }
