package events

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"conveyor/backend/memory"

	"github.com/stretchr/testify/require"
)

func TestRemoteCarriesEventsThroughTheBackend(t *testing.T) {
	ctx := context.Background()
	b, err := memory.New(ctx, memory.Config{})
	require.NoError(t, err)
	defer b.Close()
	r := NewRemote(b)
	defer r.Close()
	got := make(chan *Event, 4)
	_, err = r.Subscribe("doc.*", func(_ context.Context, ev *Event) { got <- ev })
	require.NoError(t, err)

	// A local bus forwarded onto the remote one.
	local := NewMemory()
	_, err = Forward(local, r, func(err error) { t.Error(err) })
	require.NoError(t, err)
	ev, _ := New("app", "doc.created", "d1", map[string]int{"n": 1})
	require.NoError(t, local.Publish(ctx, ev))
	other, _ := New("app", "user.created", "", nil)
	require.NoError(t, local.Publish(ctx, other))
	select {
	case e := <-got:
		require.Equal(t, ev.ID, e.ID)
		require.JSONEq(t, `{"n":1}`, string(e.Data))
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}

	// Too large for a broadcast: sent without its data, marked.
	big, _ := New("app", "doc.big", "", strings.Repeat("x", 10000))
	require.NoError(t, r.Publish(ctx, big))
	select {
	case e := <-got:
		require.Equal(t, big.ID, e.ID)
		require.Empty(t, e.Data)
	case <-time.After(5 * time.Second):
		t.Fatal("no truncated event")
	}
	select {
	case e := <-got:
		t.Fatalf("unexpected event %s", e.Type)
	case <-time.After(50 * time.Millisecond):
	}

	// The marker is on the wire.
	c, err := b.Listen(ctx)
	require.NoError(t, err)
	require.NoError(t, r.Publish(ctx, big))
	var wire map[string]any
	require.NoError(t, json.Unmarshal(<-c, &wire))
	require.Equal(t, true, wire["datatruncated"])
}
