package nats

import (
	"testing"

	"conveyor/backend"
	"conveyor/backend/backendtest"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		b, _ := newTestBackend(t)
		return b
	})
}

func TestClient(t *testing.T) {
	backendtest.RunClient(t, func(t *testing.T) (backend.Backend, string) {
		return newTestBackend(t)
	})
}
