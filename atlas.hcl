// Atlas project file. Works unchanged with the official Atlas CLI, the
// community build included (no ent:// or external_schema, which it lacks):
//   atlas migrate diff NAME --env local      (byte for byte the file of `dbctl migrate diff NAME`
//                                             when nothing is dropped; README, "With the official Atlas CLI")
//   atlas migrate apply --env local          (same lock and revision table as `dbctl migrate apply`)
//   atlas migrate validate --env local       (same atlas.sum as `dbctl migrate validate`)
// URLs must not set search_path: the revision table then lives in schema
// atlas_schema_revisions, where dbctl and the Go API look for it.

// The desired state: schema.sql, generated from ent/schema by
// 'go generate ./...' (internal/cmd/schemasql; CI checks it is fresh).
// Atlas loads it into the dev database and diffs it against migrations/.
locals {
  src = "file://schema.sql"
  dir = "file://migrations"
}

// A local server: DATABASE_URL is the target, DATABASE_DEV_URL a clean,
// empty database Atlas may wipe (for diff, lint and replay). The dev URL is
// bound to the public schema, as dbctl binds it: files name tables
// unqualified ("campaigns", not "public"."campaigns"), like every file in
// migrations/. (Only dev: the target URL keeps no search_path, so the
// revision table stays in schema atlas_schema_revisions.)
env "local" {
  src = local.src
  url = getenv("DATABASE_URL")
  dev = urlqueryset(getenv("DATABASE_DEV_URL"), "search_path", "public")
  migration {
    dir = local.dir
  }
  lint {
    destructive {
      error = true
    }
  }
}

// Same, with a throwaway PostgreSQL 15 container as the dev database.
env "docker" {
  src = local.src
  url = getenv("DATABASE_URL")
  dev = "docker://postgres/15/dev?search_path=public"
  migration {
    dir = local.dir
  }
  lint {
    destructive {
      error = true
    }
  }
}
