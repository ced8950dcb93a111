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
	st := memoryStore(t)
	now := time.Date(2026, 12, 5, 14, 0, 0, 0, time.UTC)
	e1, err := st.Create(ctx, Schedule{Name: "every-second", Cron: "@every 1s", Kind: "k"}, now)
	require.NoError(t, err)

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
	require.Equal(t, e1.Revision+1, e2.Revision)
	require.Equal(t, state.LastRun, e2.State.LastRun, "the fire's state is kept")

	err = st.DeleteIf(ctx, e1.Name, e1.Revision)
	require.ErrorIs(t, err, backend.ErrConflict, "the definition changed since revision 1")
	require.NoError(t, st.DeleteIf(ctx, e1.Name, e2.Revision))
}

// TestRevisionOfARecreatedScheduleDiffers: a schedule deleted and created
// again under its name starts at another revision, so an If-Match held from
// its former life does not overwrite the new one.
func TestRevisionOfARecreatedScheduleDiffers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := memoryStore(t)
	now := time.Date(2026, 12, 5, 14, 0, 0, 0, time.UTC)
	old, err := st.Create(ctx, Schedule{Name: "nightly", Cron: "@every 1m", Kind: "old"}, now)
	require.NoError(t, err)
	require.NoError(t, st.Delete(ctx, "nightly"))
	_, err = st.Put(ctx, Schedule{Name: "nightly", Cron: "@every 1h", Kind: "new"}, now)
	require.NoError(t, err)
	_, err = st.UpdateIf(ctx, Schedule{Name: "nightly", Cron: "@every 1m", Kind: "old", Disabled: true}, old.Revision, now)
	require.ErrorIs(t, err, backend.ErrConflict, "the former life's revision does not match")
	require.ErrorIs(t, st.DeleteIf(ctx, "nightly", old.Revision), backend.ErrConflict)
	got, err := st.Get(ctx, "nightly")
	require.NoError(t, err)
	require.Equal(t, "new", got.Kind)
}

// TestPutOfAnUnchangedDefinitionWritesNothing: a scheduler declaring its
// schedules at every start does not move their revisions (which would make
// every open admin page's next edit a 412).
func TestPutOfAnUnchangedDefinitionWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := memoryStore(t)
	now := time.Date(2026, 12, 5, 14, 0, 0, 0, time.UTC)
	def := Schedule{Name: "declared", Cron: "@hourly", Kind: "k", Args: []byte(`{"a":1}`)}
	first, err := st.Put(ctx, def, now)
	require.NoError(t, err)
	again, err := st.Put(ctx, def, now.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, first.Revision, again.Revision)
	require.Equal(t, first.Version, again.Version, "nothing written")
	def.Queue = "other"
	changed, err := st.Put(ctx, def, now.Add(2*time.Minute))
	require.NoError(t, err)
	require.Equal(t, first.Revision+1, changed.Revision)
}

// TestValidateMatchesTheClient: a schedule whose every fire the client
// would refuse is refused when it is saved.
func TestValidateMatchesTheClient(t *testing.T) {
	t.Parallel()
	for name, s := range map[string]*Schedule{
		"priority":     {Name: "p", Cron: "@hourly", Kind: "k", Priority: 1 << 40},
		"max_attempts": {Name: "m", Cron: "@hourly", Kind: "k", MaxAttempts: 1 << 40},
		"args utf8":    {Name: "a", Cron: "@hourly", Kind: "k", Args: []byte("\"caf\xe9\"")},
	} {
		require.ErrorIs(t, s.Validate(), ErrInvalid, name)
	}
}

// memoryStore is a Store over a fresh memory backend.
func memoryStore(t *testing.T) *Store {
	t.Helper()
	b, err := memory.New(t.Context(), memory.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return NewStore(b)
}
