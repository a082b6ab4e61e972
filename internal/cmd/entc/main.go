// Command entc generates the Ent client in ent/ with an explicit feature set
// and the tenancy templates of internal/enttmpl.
package main

import (
	"log"

	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"
)

func main() {
	err := entc.Generate("./ent/schema", &gen.Config{
		Target:  "./ent",
		Package: "github.com/leadmetrics/db/ent",
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
		// batched cross-tenant checks (see internal/scope). EntQL is off: its
		// edge predicates would bypass the edge filter.
		Templates: []*gen.Template{
			gen.MustParse(gen.NewTemplate("tenancy").ParseDir("internal/enttmpl")),
		},
	})
	if err != nil {
		log.Fatalf("entc: %v", err)
	}
}
