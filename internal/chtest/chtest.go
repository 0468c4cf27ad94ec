// Package chtest gives the integration tests of every package the same
// ClickHouse server: the one make test starts with scripts/clickhouse.sh.
package chtest

import (
	"os"
	"testing"
)

// Addr is the test server's native address, WASP_TEST_CLICKHOUSE_ADDR.
// Without one the test skips, except in CI, where it fails: integration
// tests never skip there.
func Addr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("WASP_TEST_CLICKHOUSE_ADDR")
	if addr == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("WASP_TEST_CLICKHOUSE_ADDR is not set and CI is: integration tests never skip in CI (run make test)")
		}
		t.Skip("no ClickHouse: run scripts/clickhouse.sh start and set WASP_TEST_CLICKHOUSE_ADDR=$(scripts/clickhouse.sh addr)")
	}
	return addr
}
