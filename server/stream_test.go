package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"conveyor/backend/memory"
	"conveyor/events"
	"conveyor/server"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"
)

func dialStream(t *testing.T, b *bundle, query string, opts *websocket.DialOptions) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	return websocket.Dial(ctx, strings.Replace(b.url, "http://", "ws://", 1)+"/api/v1/stream"+query, opts)
}

func readEvent(t *testing.T, c *websocket.Conn) *events.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	typ, data, err := c.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, websocket.MessageText, typ)
	var ev events.Event
	require.NoError(t, json.Unmarshal(data, &ev))
	return &ev
}

func publish(t *testing.T, bus events.Bus, typ string) *events.Event {
	t.Helper()
	ev, err := events.New("test", typ, "s", map[string]int{"n": 1})
	require.NoError(t, err)
	require.NoError(t, bus.Publish(context.Background(), ev))
	return ev
}

func TestStream(t *testing.T) {
	t.Parallel()
	bus := events.NewMemory()
	b := setup(t, func(o *setupOpts) { o.events = bus })

	// Header auth, filtered to doc.*.
	c, _, err := dialStream(t, b, "?types=doc.*", &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + readToken}}, Subprotocols: []string{server.StreamProtocol}})
	require.NoError(t, err)
	defer c.CloseNow()
	require.Equal(t, server.StreamProtocol, c.Subprotocol())
	// Subscriptions are in place once the upgrade answered; publish until
	// the first one arrives to avoid racing the handler's subscription.
	publish(t, bus, "conveyor.job.started") // filtered out
	want := publish(t, bus, "doc.created")
	got := readEvent(t, c)
	require.Equal(t, want.ID, got.ID)
	require.Equal(t, "doc.created", got.Type)
	require.JSONEq(t, `{"n":1}`, string(got.Data))

	// Browser-style auth through the subprotocol, every type.
	c2, _, err := dialStream(t, b, "", &websocket.DialOptions{Subprotocols: []string{server.StreamProtocol, "bearer." + adminToken}})
	require.NoError(t, err)
	defer c2.CloseNow()
	want = publish(t, bus, "conveyor.job.completed")
	require.Equal(t, want.ID, readEvent(t, c2).ID)
}

func TestStreamRefuses(t *testing.T) {
	t.Parallel()
	bus := events.NewMemory()
	b := setup(t, func(o *setupOpts) { o.events = bus })
	_, res, err := dialStream(t, b, "", nil)
	require.Error(t, err)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	_, res, err = dialStream(t, b, "", &websocket.DialOptions{Subprotocols: []string{"bearer.wrong"}})
	require.Error(t, err)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	_, res, err = dialStream(t, b, "?types=a..b", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + readToken}}})
	require.Error(t, err)
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	_, res, err = dialStream(t, b, "?kind=x", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + readToken}}})
	require.Error(t, err)
	require.Equal(t, http.StatusBadRequest, res.StatusCode)

	nobus := setup(t)
	_, res, err = dialStream(t, nobus, "", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + readToken}}})
	require.Error(t, err)
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
}

// TestStreamClosesASlowClient fills a client's buffer without reading: the
// server closes it with 1008 rather than blocking the publisher.
func TestStreamClosesASlowClient(t *testing.T) {
	t.Parallel()
	bus, c := streamOnOwnBus(t)
	ev, err := events.New("test", "doc.big", "", strings.Repeat("x", 16<<10))
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 4000 { // far more than the buffer (1024) and the socket hold
			_ = bus.Publish(context.Background(), ev)
		}
	}()
	select {
	case <-done: // the publisher never blocked on the slow client
	case <-time.After(30 * time.Second):
		t.Fatal("publishing blocked on a slow stream client")
	}
	requireClosedWith(t, c, websocket.StatusPolicyViolation, 20*time.Second)
}

// TestStreamBoundsBytesNotOnlyEvents sends a non-reading client far fewer
// events than the buffer's count but far more bytes than its byte budget:
// the server closes it with 1008 instead of holding them all.
func TestStreamBoundsBytesNotOnlyEvents(t *testing.T) {
	t.Parallel()
	bus, c := streamOnOwnBus(t)
	c.SetReadLimit(1 << 20)
	ev, err := events.New("test", "doc.huge", "", strings.Repeat("x", 512<<10))
	require.NoError(t, err)
	const count = 128 // 64 MiB: 8 times the byte budget (8 MiB), an eighth of the event buffer (1024)
	for range count {
		require.NoError(t, bus.Publish(context.Background(), ev))
	}
	// The close arrives after what the socket already holds; reading is
	// what lets it through, and the server must not wait for its 10 s
	// write timeout to give up.
	requireClosedWith(t, c, websocket.StatusPolicyViolation, 5*time.Second)
}

// streamOnOwnBus serves the stream from a bus of the test's own and
// connects a client (closed when the test ends) that reads nothing yet.
func streamOnOwnBus(t *testing.T) (*events.Memory, *websocket.Conn) {
	t.Helper()
	bus := events.NewMemory()
	b := setup(t, func(o *setupOpts) { o.events = bus })
	c, _, err := dialStream(t, b, "", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + readToken}}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.CloseNow() })
	return bus, c
}

// requireClosedWith reads c until the server closes it, within d, and
// requires the close status code.
func requireClosedWith(t *testing.T, c *websocket.Conn, code websocket.StatusCode, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	var closeErr error
	for closeErr == nil {
		_, _, closeErr = c.Read(ctx)
	}
	require.Equal(t, code, websocket.CloseStatus(closeErr), "%v", closeErr)
}

// TestStreamShowsOtherProcessesEvents serves the stream from a Remote bus:
// an event another process publishes through the backend reaches it.
func TestStreamShowsOtherProcessesEvents(t *testing.T) {
	t.Parallel()
	store, err := memory.New(t.Context(), memory.Config{})
	require.NoError(t, err)
	defer store.Close()
	here := events.NewRemote(store)
	defer here.Close()
	b := setup(t, func(o *setupOpts) { o.events = events.NewMemory(); o.stream = here })
	c, _, err := dialStream(t, b, "", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + readToken}}})
	require.NoError(t, err)
	defer c.CloseNow()
	elsewhere := events.NewRemote(store) // another process on the same store
	defer elsewhere.Close()
	want := publish(t, elsewhere, "doc.created")
	require.Equal(t, want.ID, readEvent(t, c).ID)
}

// TestStopEndsStreams: Stop closes open streams (1001) rather than leaving
// hijacked connections behind.
func TestStopEndsStreams(t *testing.T) {
	t.Parallel()
	bus := events.NewMemory()
	b := setup(t, func(o *setupOpts) { o.events = bus })
	c, _, err := dialStream(t, b, "", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + readToken}}})
	require.NoError(t, err)
	defer c.CloseNow()
	require.NoError(t, b.srv.Stop(t.Context()))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, _, err = c.Read(ctx)
	require.Equal(t, websocket.StatusGoingAway, websocket.CloseStatus(err), "%v", err)
}
