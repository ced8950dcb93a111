package schedule_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"conveyor/backend"
	_ "conveyor/backend/all"
	"conveyor/backend/backendtest"
	"conveyor/schedule"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestStoreUpdateIfDeleteIf(t *testing.T) {
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	for name, b := range backendtest.OpenAll(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			st := schedule.NewStore(b)
			// Unique names: server backends are shared with other tests.
			def := schedule.Schedule{Name: "ifv-" + uuid.NewString(), Cron: "@every 1m", Kind: "k"}
			t.Cleanup(func() { _ = st.Delete(context.Background(), def.Name) })
			e1, err := st.Create(ctx, def, now)
			require.NoError(t, err)

			edit := def
			edit.Queue = "edited"
			e2, err := st.UpdateIf(ctx, edit, e1.Revision, now)
			require.NoError(t, err, "the revision read updates")
			require.Greater(t, e2.Revision, e1.Revision)
			require.Equal(t, e1.State.Generation, e2.State.Generation, "an update keeps the state")

			stale := def
			stale.Queue = "stale"
			_, err = st.UpdateIf(ctx, stale, e1.Revision, now)
			require.ErrorIs(t, err, backend.ErrConflict, "a stale revision is refused")
			require.ErrorContains(t, err, "at revision "+itoa(e2.Revision))
			got, err := st.Get(ctx, def.Name)
			require.NoError(t, err)
			require.Equal(t, "edited", got.Queue, "the refused write changed nothing")
			require.Equal(t, e2.Revision, got.Revision)

			anyv := def
			anyv.Queue = "any"
			e3, err := st.UpdateIf(ctx, anyv, backend.AnyVersion, now)
			require.NoError(t, err, "AnyVersion: whatever revision it is at")
			require.Equal(t, "any", e3.Queue)

			missing := def
			missing.Name = def.Name + "-missing"
			_, err = st.UpdateIf(ctx, missing, backend.AnyVersion, now)
			require.ErrorIs(t, err, backend.ErrNotFound, "UpdateIf never creates")
			_, err = st.Get(ctx, missing.Name)
			require.ErrorIs(t, err, backend.ErrNotFound)

			err = st.DeleteIf(ctx, def.Name, e2.Revision)
			require.ErrorIs(t, err, backend.ErrConflict, "a stale delete is refused")
			require.ErrorContains(t, err, "at revision "+itoa(e3.Revision))
			_, err = st.Get(ctx, def.Name)
			require.NoError(t, err, "still there")

			require.NoError(t, st.DeleteIf(ctx, def.Name, e3.Revision))
			_, err = st.Get(ctx, def.Name)
			require.ErrorIs(t, err, backend.ErrNotFound)
			require.ErrorIs(t, st.DeleteIf(ctx, def.Name, e3.Revision), backend.ErrNotFound)
		})
	}
}

// TestStoreUpdateIfConcurrent: writers holding the same revision race; the
// compare-and-set lets exactly one win, whatever the interleaving.
func TestStoreUpdateIfConcurrent(t *testing.T) {
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	for name, b := range backendtest.OpenAll(t) {
		t.Run(name, func(t *testing.T) {
			st := schedule.NewStore(b)
			def := schedule.Schedule{Name: "ifv-race-" + uuid.NewString(), Cron: "@every 1m", Kind: "k"}
			t.Cleanup(func() { _ = st.Delete(context.Background(), def.Name) })
			e, err := st.Create(t.Context(), def, now)
			require.NoError(t, err)
			const writers = 8
			errs := make([]error, writers)
			var wg sync.WaitGroup
			for i := range writers {
				wg.Go(func() {
					d := def
					d.Priority = i + 1
					_, errs[i] = st.UpdateIf(t.Context(), d, e.Revision, now)
				})
			}
			wg.Wait()
			won := 0
			for _, err := range errs {
				if err == nil {
					won++
				} else {
					require.ErrorIs(t, err, backend.ErrConflict)
				}
			}
			require.Equal(t, 1, won, "exactly one writer of revision %d wins", e.Revision)
			got, err := st.Get(t.Context(), def.Name)
			require.NoError(t, err)
			require.Equal(t, e.Revision+1, got.Revision)
			require.Equal(t, e.Version+1, got.Version)
		})
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
