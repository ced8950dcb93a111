package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"conveyor/backend"
)

// fakeSender stands in for enqueueGroup: it records how many calls run at
// once and how many requests each carries, and holds every call until
// release is closed (or not at all when release is nil).
type fakeSender struct {
	release  chan struct{}
	running  atomic.Int32
	peak     atomic.Int32
	mu       sync.Mutex
	sizes    []int
	failWith error
}

func (f *fakeSender) send(ctx context.Context, reqs []*enqueueReq) {
	n := f.running.Add(1)
	for {
		p := f.peak.Load()
		if n <= p || f.peak.CompareAndSwap(p, n) {
			break
		}
	}
	f.mu.Lock()
	f.sizes = append(f.sizes, len(reqs))
	f.mu.Unlock()
	if f.release != nil {
		<-f.release
	}
	f.running.Add(-1)
	for _, r := range reqs {
		r.err = f.failWith
		if r.err == nil {
			r.res = []backend.EnqueueOutcome{{ID: r.jobs[0].ID, State: backend.StateQueued}}
		}
		close(r.done)
	}
}

func fakeReq(id string) *enqueueReq {
	return &enqueueReq{jobs: []*backend.JobInsert{{ID: id}}}
}

// TestCoalescerSlots: callers beyond the slots wait and then go together in
// one call per freed slot; no more than max calls ever run at once, and
// every caller gets its own outcome.
func TestCoalescerSlots(t *testing.T) {
	t.Parallel()
	f := &fakeSender{release: make(chan struct{})}
	c := &coalescer{max: 2, send: f.send}
	const callers = 10
	errs := make(chan error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			r := fakeReq(fmt.Sprint(i))
			if err := c.submit(t.Context(), r); err != nil {
				errs <- err
				return
			}
			res, err := r.result()
			if err != nil || len(res.Jobs) != 1 || res.Jobs[0].ID != fmt.Sprint(i) {
				errs <- fmt.Errorf("caller %d: %+v, %v", i, res, err)
			}
		})
	}
	// Two calls take the slots; the other eight callers queue up.
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return f.running.Load() == 2 && len(c.pending) == callers-2
	}, 5*time.Second, time.Millisecond)
	close(f.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.EqualValues(t, 2, f.peak.Load())
	total := 0
	for _, n := range f.sizes {
		total += n
	}
	require.Equal(t, callers, total)
	require.Len(t, f.sizes, 3, "two lone calls, then the eight waiting requests in one call: %v", f.sizes)
	// The slot that sent the last call is freed by its goroutine after the
	// callers it carried return.
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.inFlight == 0
	}, 5*time.Second, time.Millisecond, "every slot is freed")
}

// TestCoalescerWaiterCancelled: a caller whose context ends while it waits
// for a slot returns at once with the context's error; its request is still
// sent later.
func TestCoalescerWaiterCancelled(t *testing.T) {
	t.Parallel()
	f := &fakeSender{release: make(chan struct{})}
	c := &coalescer{max: 1, send: f.send}
	first := make(chan error, 1)
	go func() { first <- c.submit(t.Context(), fakeReq("a")) }()
	require.Eventually(t, func() bool { return f.running.Load() == 1 }, 5*time.Second, time.Millisecond)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	waiter := fakeReq("b")
	err := c.submit(ctx, waiter)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorContains(t, err, "nothing was stored")
	close(f.release)
	require.NoError(t, <-first)
	require.Equal(t, []int{1}, f.sizes, "the withdrawn request was not sent")
	select {
	case <-waiter.done:
		t.Fatal("a withdrawn request was answered")
	default:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	require.Zero(t, c.inFlight, "the slot was freed")
	require.Empty(t, c.pending)
}

// TestCoalescerTakenWaiterCancelled: a request a call already carries
// cannot be withdrawn; its caller, whose ctx ends, hears that the jobs may
// be stored, and the call still completes it.
func TestCoalescerTakenWaiterCancelled(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	var calls atomic.Int32
	taken := make(chan struct{})
	f := &fakeSender{}
	c := &coalescer{max: 1, send: func(ctx context.Context, reqs []*enqueueReq) {
		switch calls.Add(1) {
		case 1:
			<-gate // holds the slot while the waiter queues
		case 2:
			close(taken)
			<-gate
		}
		f.send(ctx, reqs)
	}}
	first := make(chan error, 1)
	go func() { first <- c.submit(t.Context(), fakeReq("a")) }()
	require.Eventually(t, func() bool { return calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	ctx, cancel := context.WithCancel(t.Context())
	waiter := fakeReq("b")
	second := make(chan error, 1)
	go func() { second <- c.submit(ctx, waiter) }()
	require.Eventually(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return len(c.pending) == 1 }, 5*time.Second, time.Millisecond)
	gate <- struct{}{} // first call ends; the drain takes the waiter
	<-taken
	cancel()
	err := <-second
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorContains(t, err, "may still be stored")
	close(gate)
	require.NoError(t, <-first)
	<-waiter.done
	require.NoError(t, waiter.err)
}

// TestCoalescerSendError: a failed call reports its error to every request
// it carried.
func TestCoalescerSendError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	c := &coalescer{max: 1, send: (&fakeSender{failWith: boom}).send}
	r := fakeReq("a")
	require.NoError(t, c.submit(t.Context(), r))
	_, err := r.result()
	require.ErrorIs(t, err, boom)
}

// TestRsStr: 17 zero-padded digits of µs, and negative times clamp to 0.
func TestRsStr(t *testing.T) {
	t.Parallel()
	require.Equal(t, "00000000000000000", rsStr(time.Unix(0, 0)))
	require.Equal(t, "00000000000000000", rsStr(time.Unix(-5, 0)))
	require.Equal(t, "00000000001000001", rsStr(time.UnixMicro(1000001)))
	require.Equal(t, fmt.Sprintf("%017d", t0.UnixMicro()), rsStr(t0))
	require.Equal(t, "123456789012345678", rsStr(time.UnixMicro(123456789012345678)), "more digits than 17 are kept")
}
