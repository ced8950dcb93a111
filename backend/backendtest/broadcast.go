package backendtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

// listen opens a Listen on h's backend, skipping the test when the backend
// does not claim the Broadcast capability.
func listen(t *testing.T, h *harness, ctx context.Context) <-chan []byte {
	t.Helper()
	if !h.b.Capabilities().Broadcast {
		t.Skip("Capabilities.Broadcast is false")
	}
	br, ok := h.b.(backend.Broadcaster)
	require.True(t, ok, "Capabilities.Broadcast is true but %T does not implement backend.Broadcaster", h.b)
	c, err := br.Listen(ctx)
	require.NoError(t, err)
	require.NotNil(t, c)
	return c
}

// receive waits for the next message on c.
func receive(t *testing.T, c <-chan []byte) string {
	t.Helper()
	select {
	case m, ok := <-c:
		require.True(t, ok, "listen channel closed before its ctx ended")
		return string(m)
	case <-time.After(wakeDeadline):
		require.Fail(t, "no broadcast message", "waited %s", wakeDeadline)
		return ""
	}
}

func testBroadcast(t *testing.T, f Factory) {
	t.Run("EveryListenerGetsEachMessage", func(t *testing.T) {
		h := setup(t, f)
		ctx, cancel := context.WithCancel(h.ctx)
		defer cancel()
		a, b := listen(t, h, ctx), listen(t, h, ctx)
		br := h.b.(backend.Broadcaster)
		// A listener is in place when Listen returns; a message sent right
		// after must arrive (the servers may still be propagating the
		// subscription, so the first message is retried until one lands).
		var first string
		for i := 0; first == ""; i++ {
			require.Less(t, i, 50, "no message after 50 broadcasts")
			require.NoError(t, br.Broadcast(ctx, fmt.Appendf(nil, "hello-%d", i)))
			select {
			case m := <-a:
				first = string(m)
			case <-time.After(200 * time.Millisecond):
			}
		}
		require.True(t, strings.HasPrefix(first, "hello-"))
		for _, m := range []string{"one", "two", `{"json":true}`} {
			require.NoError(t, br.Broadcast(ctx, []byte(m)))
		}
		got := []string{}
		for len(got) < 3 {
			if m := receive(t, a); !strings.HasPrefix(m, "hello-") {
				got = append(got, m)
			}
		}
		require.Equal(t, []string{"one", "two", `{"json":true}`}, got, "in order")
		for m := receive(t, b); strings.HasPrefix(m, "hello-"); m = receive(t, b) {
		}
	})

	t.Run("TooLarge", func(t *testing.T) {
		h := setup(t, f)
		listen(t, h, h.ctx)
		err := h.b.(backend.Broadcaster).Broadcast(h.ctx, make([]byte, backend.MaxBroadcastBytes+1))
		require.ErrorIs(t, err, backend.ErrTooLarge)
		require.NoError(t, h.b.(backend.Broadcaster).Broadcast(h.ctx, []byte(strings.Repeat("x", backend.MaxBroadcastBytes))))
	})

	t.Run("ClosedWhenCtxEnds", func(t *testing.T) {
		h := setup(t, f)
		ctx, cancel := context.WithCancel(h.ctx)
		c := listen(t, h, ctx)
		cancel()
		deadline := time.After(wakeDeadline)
		for {
			select {
			case _, ok := <-c:
				if !ok {
					return
				}
			case <-deadline:
				require.Fail(t, "listen channel still open after its ctx ended")
				return
			}
		}
	})
}
