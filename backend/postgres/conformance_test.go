package postgres

import (
	"testing"

	"conveyor/backend"
	"conveyor/backend/backendtest"
)

// TestConformance runs the port-level conformance suite, each test in its
// own schema.
func TestConformance(t *testing.T) {
	t.Parallel()
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		b, _ := newTestBackend(t)
		return b
	})
}

// TestClient runs the client-level suite (worker, retries, timeouts, cancel,
// shutdown, and a SIGKILLed worker child process that opens the same schema
// by URL).
func TestClient(t *testing.T) {
	t.Parallel()
	backendtest.RunClient(t, func(t *testing.T) (backend.Backend, string) {
		return newTestBackend(t)
	})
}
