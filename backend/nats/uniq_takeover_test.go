package nats

import (
	"context"
	"errors"
	"testing"
	"time"

	"conveyor/backend"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// A unique key whose holder's record is not written yet (an enqueue in
// flight, here simulated by taking the key for a job that never writes)
// is not taken over while the holder may still finish: the second enqueue
// waits, and fails when its ctx ends, rather than store a second job with
// the key.
func TestUniqueKeyInFlightIsNotTakenOver(t *testing.T) {
	h := setup(t)
	q := "uniq-inflight"
	_, err := h.b.uniq.Create(h.ctx, uniqKey("inflight:1"), []byte("01a20a00-0000-7000-8000-000000000001"))
	require.NoError(t, err)
	in := newInsert(q, func(j *backend.JobInsert) { j.UniqueKey = "inflight:1" })
	ctx, cancel := context.WithTimeout(h.ctx, time.Second) // longer than the 500 ms an earlier build waited
	defer cancel()
	_, err = h.b.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{in}, Now: h.now})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	_, err = h.b.JobGet(h.ctx, &backend.JobGetParams{ID: in.ID})
	require.ErrorIs(t, err, backend.ErrNotFound, "no second job holds the key")

	// Once the entry is older than any enqueue can take, the holder is
	// gone (crashed): the key is taken over.
	h.b.holderTakeover = 100 * time.Millisecond
	time.Sleep(150 * time.Millisecond)
	out := h.enqueue(h.now, in)[0]
	require.False(t, out.Duplicate)
	require.Equal(t, in.ID, out.ID)
}

// errAfterFirst reports ctx ended from the second Err call on, without
// closing Done: the enqueue takes the key, then finds its ctx ended before
// sending the record.
type errAfterFirst struct {
	context.Context
	calls int
}

func (c *errAfterFirst) Err() error {
	c.calls++
	if c.calls > 1 {
		return context.Canceled
	}
	return nil
}

// A unique enqueue that fails after taking its key gives the key back, so
// the next enqueue with it does not wait for a takeover.
func TestFailedUniqueEnqueueGivesTheKeyBack(t *testing.T) {
	h := setup(t)
	q := "uniq-giveback"
	in := newInsert(q, func(j *backend.JobInsert) { j.UniqueKey = "giveback:1" })
	_, err := h.b.JobEnqueue(&errAfterFirst{Context: h.ctx}, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{in}, Now: h.now})
	require.ErrorIs(t, err, context.Canceled)
	_, err = h.b.uniq.Get(h.ctx, uniqKey("giveback:1"))
	require.True(t, errors.Is(err, jetstream.ErrKeyNotFound), "the key was given back: %v", err)

	other := newInsert(q, func(j *backend.JobInsert) { j.UniqueKey = "giveback:1" })
	ctx, cancel := context.WithTimeout(h.ctx, 2*time.Second) // far less than a takeover
	defer cancel()
	res, err := h.b.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{other}, Now: h.now})
	require.NoError(t, err)
	require.False(t, res.Jobs[0].Duplicate)
}
