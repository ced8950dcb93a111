package backendtest

import (
	"encoding/json"
	"testing"
	"time"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

func (h *harness) put(ns, key, value string, ifVersion int64, now time.Time) (*backend.Record, error) {
	h.t.Helper()
	return h.b.RecordPut(h.ctx, &backend.RecordPutParams{
		Namespace: ns, Key: key, Value: json.RawMessage(value), IfVersion: ifVersion, Now: now,
	})
}

func (h *harness) getRecord(ns, key string) (*backend.Record, error) {
	h.t.Helper()
	return h.b.RecordGet(h.ctx, &backend.RecordGetParams{Namespace: ns, Key: key})
}

func testRecord(t *testing.T, f Factory) {
	t.Run("PutGet", func(t *testing.T) {
		h := setup(t, f)
		r, err := h.put("schedules", "nightly", `{"cron":"0 3 * * *","enabled":true}`, 0, base)
		require.NoError(t, err)
		require.Equal(t, int64(1), r.Version)
		require.Equal(t, "schedules", r.Namespace)
		require.Equal(t, "nightly", r.Key)
		require.JSONEq(t, `{"cron":"0 3 * * *","enabled":true}`, string(r.Value))
		requireTime(t, base, r.UpdatedAt, "UpdatedAt")

		got, err := h.getRecord("schedules", "nightly")
		require.NoError(t, err)
		require.Equal(t, int64(1), got.Version)
		require.Equal(t, "schedules", got.Namespace)
		require.Equal(t, "nightly", got.Key)
		require.JSONEq(t, `{"cron":"0 3 * * *","enabled":true}`, string(got.Value))
		requireTime(t, base, got.UpdatedAt, "UpdatedAt")

		_, err = h.getRecord("schedules", "missing")
		require.ErrorIs(t, err, backend.ErrNotFound)
		_, err = h.getRecord("webhooks", "nightly")
		require.ErrorIs(t, err, backend.ErrNotFound, "namespaces are separate")
	})

	t.Run("CompareAndSet", func(t *testing.T) {
		h := setup(t, f)
		ns := "cas"
		_, err := h.put(ns, "k", `1`, 0, base)
		require.NoError(t, err)
		_, err = h.put(ns, "k", `2`, 0, at(time.Second))
		require.ErrorIs(t, err, backend.ErrConflict, "create-if-absent on an existing record")

		r, err := h.put(ns, "k", `2`, 1, at(2*time.Second))
		require.NoError(t, err)
		require.Equal(t, int64(2), r.Version)
		requireTime(t, at(2*time.Second), r.UpdatedAt, "UpdatedAt")

		_, err = h.put(ns, "k", `3`, 1, at(3*time.Second))
		require.ErrorIs(t, err, backend.ErrConflict, "stale version")
		_, err = h.put(ns, "k", `3`, 7, at(3*time.Second))
		require.ErrorIs(t, err, backend.ErrConflict, "future version")
		got, err := h.getRecord(ns, "k")
		require.NoError(t, err)
		require.Equal(t, int64(2), got.Version, "a conflict changes nothing")
		require.JSONEq(t, `2`, string(got.Value))

		r, err = h.put(ns, "k", `{"v":4}`, backend.AnyVersion, at(4*time.Second))
		require.NoError(t, err)
		require.Equal(t, int64(3), r.Version)
		got, err = h.getRecord(ns, "k")
		require.NoError(t, err)
		require.JSONEq(t, `{"v":4}`, string(got.Value))
		requireTime(t, at(4*time.Second), got.UpdatedAt, "UpdatedAt")

		r, err = h.put(ns, "fresh", `true`, backend.AnyVersion, base)
		require.NoError(t, err)
		require.Equal(t, int64(1), r.Version, "unconditional put creates at version 1")

		_, err = h.put(ns, "absent", `1`, 3, base)
		require.ErrorIs(t, err, backend.ErrConflict, "a version for a record that does not exist")
		_, err = h.getRecord(ns, "absent")
		require.ErrorIs(t, err, backend.ErrNotFound)
	})

	t.Run("List", func(t *testing.T) {
		h := setup(t, f)
		for _, k := range []string{"m", "a", "z", "b"} {
			_, err := h.put("list-ns", k, `"`+k+`"`, 0, base)
			require.NoError(t, err)
		}
		_, err := h.put("other-ns", "c", `0`, 0, base)
		require.NoError(t, err)
		res, err := h.b.RecordList(h.ctx, &backend.RecordListParams{Namespace: "list-ns"})
		require.NoError(t, err)
		keys := make([]string, len(res.Records))
		for i, r := range res.Records {
			keys[i] = r.Key
			require.Equal(t, "list-ns", r.Namespace)
			require.JSONEq(t, `"`+r.Key+`"`, string(r.Value))
			require.Equal(t, int64(1), r.Version)
		}
		require.Equal(t, []string{"a", "b", "m", "z"}, keys)

		res, err = h.b.RecordList(h.ctx, &backend.RecordListParams{Namespace: "empty-ns"})
		require.NoError(t, err)
		require.Empty(t, res.Records)
	})

	t.Run("Delete", func(t *testing.T) {
		h := setup(t, f)
		ns := "del-ns"
		_, err := h.put(ns, "k", `1`, 0, base)
		require.NoError(t, err)
		_, err = h.put(ns, "k", `2`, 1, base)
		require.NoError(t, err)

		err = h.b.RecordDelete(h.ctx, &backend.RecordDeleteParams{Namespace: ns, Key: "k", IfVersion: 1})
		require.ErrorIs(t, err, backend.ErrConflict)
		_, err = h.getRecord(ns, "k")
		require.NoError(t, err, "a conflicting delete keeps the record")

		require.NoError(t, h.b.RecordDelete(h.ctx, &backend.RecordDeleteParams{Namespace: ns, Key: "k", IfVersion: 2}))
		_, err = h.getRecord(ns, "k")
		require.ErrorIs(t, err, backend.ErrNotFound)
		err = h.b.RecordDelete(h.ctx, &backend.RecordDeleteParams{Namespace: ns, Key: "k", IfVersion: backend.AnyVersion})
		require.ErrorIs(t, err, backend.ErrNotFound)

		_, err = h.put(ns, "any", `1`, 0, base)
		require.NoError(t, err)
		require.NoError(t, h.b.RecordDelete(h.ctx, &backend.RecordDeleteParams{Namespace: ns, Key: "any", IfVersion: backend.AnyVersion}))
		res, err := h.b.RecordList(h.ctx, &backend.RecordListParams{Namespace: ns})
		require.NoError(t, err)
		require.Empty(t, res.Records)

		// A deleted key can be created again, from version 1.
		r, err := h.put(ns, "k", `3`, 0, base)
		require.NoError(t, err)
		require.Equal(t, int64(1), r.Version)
	})

	t.Run("Concurrent", func(t *testing.T) {
		h := setup(t, f)
		ns := "cas-race"
		_, err := h.put(ns, "k", `0`, 0, base)
		require.NoError(t, err)
		// 8 writers race to move version 1 forward: exactly one wins.
		const n = 8
		errs := make(chan error, n)
		start := make(chan struct{})
		for i := range n {
			go func() {
				<-start
				_, err := h.put(ns, "k", jsonInt(i), 1, base)
				errs <- err
			}()
		}
		close(start)
		won := 0
		for range n {
			err := <-errs
			if err == nil {
				won++
				continue
			}
			require.ErrorIs(t, err, backend.ErrConflict)
		}
		require.Equal(t, 1, won)
		got, err := h.getRecord(ns, "k")
		require.NoError(t, err)
		require.Equal(t, int64(2), got.Version)
	})
}

func jsonInt(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
