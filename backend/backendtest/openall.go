package backendtest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"conveyor/backend"
)

// NATSTestURL returns CONVEYOR_TEST_NATS, or the URL of an embedded
// JetStream server started for t (stopped when it ends), so NATS tests need
// no server of their own (README: "NATS always, embedded").
func NATSTestURL(t testing.TB) string {
	t.Helper()
	if u := NATSURL(); u != "" {
		return u
	}
	s, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatalf("embedded nats-server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("embedded nats-server did not start in 10s")
	}
	t.Cleanup(s.Shutdown)
	return s.ClientURL()
}

// OpenAll opens one store of each of the five backends, keyed by name, for
// tests of code that must behave the same on all of them (the schedule and
// webhook stores, say): memory, SQLite in a temporary file, PostgreSQL and
// Redis from the environment (left out with a log line when unreachable,
// unless RequireAll), NATS from NATSTestURL. They are closed when t ends.
// The caller imports conveyor/backend/all, which registers the URL schemes
// (this package cannot: the backends' own tests import it).
func OpenAll(t *testing.T) map[string]backend.Backend {
	t.Helper()
	urls := map[string]string{
		"memory":   "memory:",
		"sqlite":   "sqlite:" + filepath.Join(t.TempDir(), "conveyor.db"),
		"postgres": PostgresURL(),
		"redis":    RedisURL(),
		"nats":     NATSTestURL(t),
	}
	out := map[string]backend.Backend{}
	for name, u := range urls {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		b, err := backend.Open(ctx, u)
		cancel()
		if err != nil {
			if RequireAll() {
				t.Fatalf("%s is required (CONVEYOR_TEST_REQUIRE_ALL is set) but unavailable: %v", name, err)
			}
			t.Logf("%s left out: %v", name, err)
			continue
		}
		t.Cleanup(func() { _ = b.Close() })
		out[name] = b
	}
	return out
}
