package backendtest

import (
	"context"
	"testing"
	"time"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

// wakeDeadline bounds every wait for a wake-up signal: generous, because
// the machine may be loaded; a passing test never waits that long.
const wakeDeadline = 10 * time.Second

// watch opens a QueueWatch on queues under ctx, skipping the test when the
// backend does not claim the Wake capability.
func watch(t *testing.T, h *harness, ctx context.Context, queues ...string) <-chan string {
	t.Helper()
	if !h.b.Capabilities().Wake {
		t.Skip("Capabilities.Wake is false")
	}
	w, ok := h.b.(backend.Waker)
	require.True(t, ok, "Capabilities.Wake is true but %T does not implement backend.Waker", h.b)
	res, err := w.QueueWatch(ctx, &backend.QueueWatchParams{Queues: queues})
	require.NoError(t, err)
	require.NotNil(t, res.C)
	return res.C
}

func testWake(t *testing.T, f Factory) {
	t.Run("SignalOnEnqueue", func(t *testing.T) {
		h := setup(t, f)
		q := "wake-enqueue"
		ctx, cancel := context.WithCancel(h.ctx)
		defer cancel()
		c := watch(t, h, ctx, q, "wake-other")
		h.addOne(q)
		timer := time.NewTimer(wakeDeadline)
		defer timer.Stop()
		for {
			select {
			case name, ok := <-c:
				require.True(t, ok, "watch channel closed before its ctx ended")
				if name == q {
					return
				}
				// Spurious signals are allowed; wait for the real one.
			case <-timer.C:
				require.Fail(t, "no wake-up signal naming the queue after an enqueue", "waited %s", wakeDeadline)
				return
			}
		}
	})

	t.Run("ClosedWhenCtxEnds", func(t *testing.T) {
		h := setup(t, f)
		ctx, cancel := context.WithCancel(h.ctx)
		c := watch(t, h, ctx, "wake-close")
		cancel()
		timer := time.NewTimer(wakeDeadline)
		defer timer.Stop()
		for {
			select {
			case _, ok := <-c:
				if !ok {
					return
				}
			case <-timer.C:
				require.Fail(t, "watch channel not closed after its ctx ended", "waited %s", wakeDeadline)
				return
			}
		}
	})
}
