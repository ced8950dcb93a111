package backendtest

import (
	"net/url"
	"os"
	"testing"
)

// Service URLs used by the tests of the backends that need a server
// (DESIGN.md §10). Each can be overridden by its environment variable.
const (
	DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
)

// PostgresURL returns CONVEYOR_TEST_POSTGRES or the default.
func PostgresURL() string { return envOr("CONVEYOR_TEST_POSTGRES", DefaultPostgresURL) }

// RedisURL returns CONVEYOR_TEST_REDIS or the default.
func RedisURL() string { return envOr("CONVEYOR_TEST_REDIS", DefaultRedisURL) }

// NATSURL returns CONVEYOR_TEST_NATS, or "" meaning "start an embedded server".
func NATSURL() string { return os.Getenv("CONVEYOR_TEST_NATS") }

// RequireAll reports whether CONVEYOR_TEST_REQUIRE_ALL is set: a missing
// service then fails the run instead of skipping it.
func RequireAll() bool { return os.Getenv("CONVEYOR_TEST_REQUIRE_ALL") != "" }

// ServiceUnavailable skips the test with a message naming the service and the
// reason, or fails it when CONVEYOR_TEST_REQUIRE_ALL is set (as in CI).
func ServiceUnavailable(t testing.TB, service string, err error) {
	t.Helper()
	if RequireAll() {
		t.Fatalf("%s is required (CONVEYOR_TEST_REQUIRE_ALL is set) but unavailable: %v", service, err)
	}
	t.Skipf("skipping: %s unavailable (%v); set its URL or start it to run these tests", service, err)
}

// WithQueryParam returns rawURL with the query parameter name set to value:
// how tests point a backend URL at their own namespace (schema=, prefix=).
func WithQueryParam(t testing.TB, rawURL, name, value string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parse URL: %v", err)
	}
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
