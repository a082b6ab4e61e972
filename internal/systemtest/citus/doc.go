// Package citus holds the tests of the schema's Citus layout (placement,
// one shard per tenant statement) and of the tenant keys that make it
// possible (composite foreign keys, edge writes naming the tenant). The
// tenant-key tests run on any server; the rest skip without TEST_CITUS_URL
// (scripts/test.sh step 4 runs the whole package on the cluster).
package citus
