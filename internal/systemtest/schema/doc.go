// Package schema holds the tests of the migrated schema on PostgreSQL:
// database guards (checks, uniques), base columns, tenant-leading indexes
// under the platform's frequent queries, Ent's upsert on (tenant_id,
// ref_id).
package schema
