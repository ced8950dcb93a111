package schedule

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"conveyor/backend"
	"conveyor/backend/memory"
)

// TestRevisionIgnoresFires: a fire writes the schedule's state (a new
// record version) but not its definition, so a conditional edit or delete
// holding the revision read before the fire still applies, while one
// holding the revision before another edit does not.
func TestRevisionIgnoresFires(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b, err := memory.New(ctx, memory.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	st := NewStore(b)
	now := time.Date(2026, 12, 5, 14, 0, 0, 0, time.UTC)
	e1, err := st.Create(ctx, Schedule{Name: "every-second", Cron: "@every 1s", Kind: "k"}, now)
	require.NoError(t, err)
	require.Equal(t, int64(1), e1.Revision)

	state := e1.State
	state.LastRun = now.Add(time.Second)
	fired, err := st.saveState(ctx, e1, state, now.Add(time.Second))
	require.NoError(t, err)
	require.Greater(t, fired.Version, e1.Version, "a fire is a write")
	require.Equal(t, e1.Revision, fired.Revision, "but not a definition write")

	disabled := e1.Schedule
	disabled.Disabled = true
	e2, err := st.UpdateIf(ctx, disabled, e1.Revision, now.Add(2*time.Second))
	require.NoError(t, err, "the revision read before the fire still holds")
	require.Equal(t, int64(2), e2.Revision)
	require.Equal(t, state.LastRun, e2.State.LastRun, "the fire's state is kept")

	err = st.DeleteIf(ctx, e1.Name, e1.Revision)
	require.ErrorIs(t, err, backend.ErrConflict, "the definition changed since revision 1")
	require.NoError(t, st.DeleteIf(ctx, e1.Name, e2.Revision))
}
