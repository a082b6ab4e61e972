// Package pgbouncer holds the tests of the layer behind PgBouncer in
// transaction pooling (the query modes that survive it); they skip without
// TEST_PGBOUNCER_URL (scripts/pgbouncer.sh, scripts/test.sh step 2).
package pgbouncer
