// Package failover holds the tests of the layer on a pg_auto_failover
// formation (failover, failback, a COMMIT cut while waiting for the
// standby, standby reads); they skip without TEST_HA_URL (scripts/ha.sh,
// scripts/test.sh step 3).
package failover
