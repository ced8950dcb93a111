package conveyor_test

import (
	"testing"

	"conveyor/backend"
	"conveyor/backend/backendtest"
	"conveyor/backend/memory"

	"github.com/stretchr/testify/require"
)

// TestClientMemory runs the client-level suite on the memory backend (the
// child-process fault test is skipped: a memory store cannot be shared).
func TestClientMemory(t *testing.T) {
	t.Parallel()
	backendtest.RunClient(t, func(t *testing.T) (backend.Backend, string) {
		b, err := memory.New(t.Context(), memory.Config{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		return b, ""
	})
}
