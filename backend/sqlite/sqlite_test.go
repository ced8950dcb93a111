package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"conveyor/backend"
	"conveyor/backend/backendtest"
	"conveyor/backend/sqlite"

	"github.com/stretchr/testify/require"
)

// newBackend opens a fresh backend on a file in the test's temp dir and
// returns it with the file's path; closed when the test ends.
func newBackend(t *testing.T) (*sqlite.Backend, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "conveyor.db")
	b, err := sqlite.New(context.Background(), sqlite.Config{Path: path})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b, path
}

func TestConformance(t *testing.T) {
	t.Parallel()
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		b, _ := newBackend(t)
		return b
	})
}
