package worker

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"conveyor/backend"
)

// TestLaterCapsDelays: snooze and retry delays never put run_at before now
// nor past backend.MaxRunAt, which every backend can store.
func TestLaterCapsDelays(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 5, 14, 0, 0, 0, time.UTC)
	require.Equal(t, now, later(now, -time.Hour))
	require.Equal(t, now, later(now, 0))
	require.Equal(t, now.Add(time.Minute), later(now, time.Minute))
	for _, d := range []time.Duration{math.MaxInt64, 200 * 365 * 24 * time.Hour} {
		got := later(now, d)
		require.True(t, got.Before(backend.MaxRunAt), "%v: %v", d, got)
		require.True(t, got.After(now.Add(100*365*24*time.Hour)), "%v: %v", d, got)
	}
}
