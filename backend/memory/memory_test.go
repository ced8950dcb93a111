package memory_test

import (
	"testing"

	"conveyor/backend"
	"conveyor/backend/backendtest"
	"conveyor/backend/memory"

	"github.com/stretchr/testify/require"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		b, err := memory.New(t.Context(), memory.Config{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		return b
	})
}
