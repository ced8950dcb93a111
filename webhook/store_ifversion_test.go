package webhook_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"conveyor/backend"
	_ "conveyor/backend/all"
	"conveyor/backend/backendtest"
	"conveyor/webhook"

	"github.com/stretchr/testify/require"
)

func TestStoreUpdateIfDeleteIf(t *testing.T) {
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	for name, b := range backendtest.OpenAll(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			st := webhook.NewStore(b)
			sub, err := st.Create(ctx, webhook.Subscription{Events: []string{"doc.*"}, URL: "https://example.com/hook"}, now)
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Delete(context.Background(), sub.ID) })
			v1, err := st.GetVersioned(ctx, sub.ID)
			require.NoError(t, err)
			require.Equal(t, int64(1), v1.Version, "a new record is at version 1 (the API's create ETag relies on it)")

			edit := *sub
			edit.Subject = "edited"
			v2, err := st.UpdateIf(ctx, edit, v1.Version, now)
			require.NoError(t, err, "the version read updates")
			require.Greater(t, v2.Version, v1.Version)
			require.Equal(t, sub.Secret, v2.Subscription.Secret)

			stale := *sub
			stale.Subject = "stale"
			_, err = st.UpdateIf(ctx, stale, v1.Version, now)
			require.ErrorIs(t, err, backend.ErrConflict, "a stale version is refused")
			require.ErrorContains(t, err, "at version "+strconv.FormatInt(v2.Version, 10))
			got, err := st.GetVersioned(ctx, sub.ID)
			require.NoError(t, err)
			require.Equal(t, "edited", got.Subscription.Subject, "the refused write changed nothing")
			require.Equal(t, v2.Version, got.Version)

			list, err := st.ListVersioned(ctx)
			require.NoError(t, err)
			found := false
			for _, v := range list {
				if v.Subscription.ID == sub.ID {
					found = true
					require.Equal(t, v2.Version, v.Version)
				}
			}
			require.True(t, found)

			anyv := *sub
			anyv.Subject = "any"
			v3, err := st.UpdateIf(ctx, anyv, backend.AnyVersion, now)
			require.NoError(t, err, "AnyVersion: whatever version it is at")
			require.Equal(t, "any", v3.Subscription.Subject)

			missing := *sub
			missing.ID = sub.ID + "-missing"
			_, err = st.UpdateIf(ctx, missing, backend.AnyVersion, now)
			require.ErrorIs(t, err, backend.ErrNotFound)

			err = st.DeleteIf(ctx, sub.ID, v2.Version)
			require.ErrorIs(t, err, backend.ErrConflict, "a stale delete is refused")
			require.ErrorContains(t, err, "at version "+strconv.FormatInt(v3.Version, 10))
			_, err = st.Get(ctx, sub.ID)
			require.NoError(t, err, "still there")

			require.NoError(t, st.DeleteIf(ctx, sub.ID, v3.Version))
			_, err = st.Get(ctx, sub.ID)
			require.ErrorIs(t, err, backend.ErrNotFound)
			require.ErrorIs(t, st.DeleteIf(ctx, sub.ID, v3.Version), backend.ErrNotFound)
		})
	}
}

// TestStoreUpdateIfConcurrent: writers holding the same version race; the
// compare-and-set lets exactly one win.
func TestStoreUpdateIfConcurrent(t *testing.T) {
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	for name, b := range backendtest.OpenAll(t) {
		t.Run(name, func(t *testing.T) {
			st := webhook.NewStore(b)
			sub, err := st.Create(t.Context(), webhook.Subscription{Events: []string{"doc.*"}, URL: "https://example.com/hook"}, now)
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Delete(context.Background(), sub.ID) })
			const writers = 8
			errs := make([]error, writers)
			var wg sync.WaitGroup
			for i := range writers {
				wg.Go(func() {
					s := *sub
					s.Subject = "writer-" + strconv.Itoa(i)
					_, errs[i] = st.UpdateIf(t.Context(), s, 1, now)
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
			require.Equal(t, 1, won, "exactly one writer of version 1 wins")
			got, err := st.GetVersioned(t.Context(), sub.ID)
			require.NoError(t, err)
			require.Equal(t, int64(2), got.Version)
		})
	}
}
