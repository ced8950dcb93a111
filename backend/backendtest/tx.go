package backendtest

import (
	"testing"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

// txHarness returns the backend's TxEnqueuer and TxBeginner, skipping the
// test when the backend does not claim the capability.
func txHarness(t *testing.T, f Factory) (*harness, backend.TxEnqueuer, TxBeginner) {
	t.Helper()
	h := setup(t, f)
	if !h.b.Capabilities().TxEnqueue {
		t.Skip("Capabilities.TxEnqueue is false")
	}
	enq, ok := h.b.(backend.TxEnqueuer)
	require.True(t, ok, "Capabilities.TxEnqueue is true but %T does not implement backend.TxEnqueuer", h.b)
	begin, ok := h.b.(TxBeginner)
	require.True(t, ok, "Capabilities.TxEnqueue is true but %T does not implement backendtest.TxBeginner", h.b)
	return h, enq, begin
}

func testTx(t *testing.T, f Factory) {
	t.Run("Commit", func(t *testing.T) {
		h, enq, begin := txHarness(t, f)
		q := "tx-commit"
		tx, commit, rollback, err := begin.BeginTx(h.ctx)
		require.NoError(t, err)
		in := job(q)
		res, err := enq.JobEnqueueTx(h.ctx, tx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{in}, Now: base})
		if err != nil {
			_ = rollback()
		}
		require.NoError(t, err)
		require.Len(t, res.Jobs, 1)
		require.Equal(t, backend.EnqueueOutcome{ID: in.ID, State: backend.StateQueued}, res.Jobs[0])
		require.NoError(t, commit())
		h.requireState(in.ID, backend.StateQueued)
		h.claimOne(q, in.ID, base)
	})

	t.Run("Rollback", func(t *testing.T) {
		h, enq, begin := txHarness(t, f)
		q := "tx-rollback"
		tx, _, rollback, err := begin.BeginTx(h.ctx)
		require.NoError(t, err)
		in := job(q, withUnique("tx-key"))
		_, err = enq.JobEnqueueTx(h.ctx, tx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{in}, Now: base})
		if err != nil {
			_ = rollback()
		}
		require.NoError(t, err)
		require.NoError(t, rollback())
		h.requireGone(in.ID)
		h.requireNoClaim(q, base)
		// The rolled-back job holds no unique key.
		require.False(t, h.enqueue(base, job(q, withUnique("tx-key")))[0].Duplicate)
	})

	t.Run("UnsupportedTx", func(t *testing.T) {
		h, enq, _ := txHarness(t, f)
		_, err := enq.JobEnqueueTx(h.ctx, struct{}{}, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{job("tx-bad")}, Now: base})
		require.ErrorIs(t, err, backend.ErrUnsupportedTx)
	})
}
