package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"conveyor/backend/sqlite"
)

// TestBroadcastAcrossBackends: a Backend opened separately on the same file
// (as another process would) hears what this one broadcasts, in order.
func TestBroadcastAcrossBackends(t *testing.T) {
	t.Parallel()
	a, path := newBackend(t)
	other, err := sqlite.New(t.Context(), sqlite.Config{Path: path})
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	c, err := other.Listen(ctx)
	require.NoError(t, err)
	for _, m := range []string{"one", "two", "three"} {
		require.NoError(t, a.Broadcast(ctx, []byte(m)))
	}
	for _, want := range []string{"one", "two", "three"} {
		select {
		case got := <-c:
			require.Equal(t, want, string(got))
		case <-time.After(5 * time.Second):
			t.Fatalf("no %q", want)
		}
	}
	require.NoError(t, other.Close())
	select {
	case _, ok := <-c:
		require.False(t, ok, "Close ends the listener")
	case <-time.After(5 * time.Second):
		t.Fatal("listener still open after Close")
	}
}

// TestBroadcastPrunesOldRows: broadcasts older than a minute are deleted
// as later ones are written, so the table stays small.
func TestBroadcastPrunesOldRows(t *testing.T) {
	t.Parallel()
	b, _ := newBackend(t)
	old := time.Now().Add(-2 * time.Minute).UnixNano()
	for range 10 {
		_, err := b.DB().ExecContext(t.Context(), `INSERT INTO broadcasts (at, msg) VALUES (?, 'stale')`, old)
		require.NoError(t, err)
	}
	for range 256 { // the prune runs once per 256 broadcasts of a Backend
		require.NoError(t, b.Broadcast(t.Context(), []byte("fresh")))
	}
	var stale, fresh int
	require.NoError(t, b.DB().QueryRowContext(t.Context(),
		`SELECT count(*) FILTER (WHERE CAST(msg AS TEXT) = 'stale'), count(*) FILTER (WHERE CAST(msg AS TEXT) = 'fresh') FROM broadcasts`).Scan(&stale, &fresh))
	require.Zero(t, stale, "rows older than a minute are pruned")
	require.Positive(t, fresh, "recent rows stay for listeners")
}

// TestMigrateAddsBroadcastsToAVersion1File: a file at schema version 1 (a
// build before broadcasts) gets the table on Migrate, its jobs intact.
func TestMigrateAddsBroadcastsToAVersion1File(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "v1.db")
	b, err := sqlite.New(t.Context(), sqlite.Config{Path: path, SkipMigrate: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	v1, err := os.ReadFile("migrations/0001_init.sql")
	require.NoError(t, err)
	_, err = b.DB().ExecContext(t.Context(), `CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)`)
	require.NoError(t, err)
	_, err = b.DB().ExecContext(t.Context(), string(v1))
	require.NoError(t, err)
	_, err = b.DB().ExecContext(t.Context(), `INSERT INTO schema_version VALUES (1, 0)`)
	require.NoError(t, err)
	require.ErrorContains(t, b.Broadcast(t.Context(), []byte("x")), "no such table", "version 1 has no broadcasts table")

	require.NoError(t, b.Migrate(t.Context()))
	require.NoError(t, b.Broadcast(t.Context(), []byte("x")))
	var version int
	require.NoError(t, b.DB().QueryRowContext(t.Context(), `SELECT max(version) FROM schema_version`).Scan(&version))
	require.Equal(t, 2, version)
}
