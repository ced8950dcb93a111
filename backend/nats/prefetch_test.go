package nats

import (
	"testing"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

// A claim's guessed first pull (the top priority the last claim saw) is
// handed back at once when the queue record shows a higher priority: the
// higher one is claimed first, and the guessed level's job is claimable by
// the very next claim rather than after AckWait.
func TestPrefetchWrongGuessHandsBack(t *testing.T) {
	h := setup(t)
	q := "prefetch-guess"
	low := h.enqueueDue(q)
	h.enqueueDue(q)
	first := h.claim(h.b, q, 1, h.now)
	require.Len(t, first, 1)
	require.Equal(t, low.ID, first[0].ID)

	high := newInsert(q, func(in *backend.JobInsert) { in.RunAt, in.Priority = h.now, 5 })
	h.enqueue(h.now, high)
	got := h.claim(h.b, q, 1, h.now)
	require.Len(t, got, 1)
	require.Equal(t, high.ID, got[0].ID, "priority order holds despite the guess")
	require.Len(t, h.claim(h.b, q, 10, h.now), 1, "the handed-back job is claimable at once")
}

// A paused queue's claims pull nothing: no message is delivered (and
// handed back) while the queue is paused.
func TestPausedQueueClaimPullsNothing(t *testing.T) {
	h := setup(t)
	q := "prefetch-paused"
	h.enqueueDue(q)
	h.enqueueDue(q)
	require.Len(t, h.claim(h.b, q, 1, h.now), 1)
	require.NoError(t, h.b.QueuePause(h.ctx, &backend.QueuePauseParams{Queue: q}))
	c, err := h.b.ready.Consumer(h.ctx, h.b.names.consumerName(q, 0))
	require.NoError(t, err)
	before := c.CachedInfo().Delivered.Consumer

	require.Empty(t, h.claim(h.b, q, 10, h.now))
	require.Empty(t, h.claim(h.b, q, 10, h.now))
	info, err := c.Info(h.ctx)
	require.NoError(t, err)
	require.Equal(t, before, info.Delivered.Consumer, "no delivery while paused")

	require.NoError(t, h.b.QueueResume(h.ctx, &backend.QueueResumeParams{Queue: q}))
	require.Len(t, h.claim(h.b, q, 10, h.now), 1)
}

// A ready stream made before it allowed direct gets (an older layout) is
// used as it is: claims read the subject's last sequence through the
// stream API instead.
func TestClaimWithoutDirectGets(t *testing.T) {
	h := setup(t)
	s, err := h.b.js.Stream(h.ctx, h.b.names.readyStream())
	require.NoError(t, err)
	cfg := s.CachedInfo().Config
	cfg.AllowDirect = false
	_, err = h.b.js.UpdateStream(h.ctx, cfg)
	require.NoError(t, err)
	old, err := New(h.ctx, Config{URL: serverURLOf(h), Prefix: h.b.cfg.Prefix, DisableMigrate: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = old.Close() })
	require.False(t, old.readyDirect)

	q := "no-direct"
	h.enqueueDue(q)
	h.enqueueDue(q)
	require.Len(t, h.claim(old, q, 1, h.now), 1)
	require.Len(t, h.claim(old, q, 10, h.now), 1, "the second claim guesses its first pull and confirms it through the stream API")
	require.Empty(t, h.claim(old, q, 10, h.now))
}
