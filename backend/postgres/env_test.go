package postgres

import (
	"os"
	"testing"
)

// testPostgresURL mirrors backendtest.PostgresURL (kept local so these tests
// build while the conformance package is being written).
func testPostgresURL() string {
	if v := os.Getenv("CONVEYOR_TEST_POSTGRES"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// serviceUnavailable mirrors backendtest.ServiceUnavailable.
func serviceUnavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CONVEYOR_TEST_REQUIRE_ALL") != "" {
		t.Fatalf("PostgreSQL is required (CONVEYOR_TEST_REQUIRE_ALL is set) but unavailable: %v", err)
	}
	t.Skipf("skipping: PostgreSQL unavailable (%v)", err)
}
