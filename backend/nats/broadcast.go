package nats

import (
	"context"
	"sync"

	"conveyor/backend"

	natsio "github.com/nats-io/nats.go"
)

var _ backend.Broadcaster = (*Backend)(nil)

// eventsSubject carries broadcasts: core NATS (not JetStream), so a
// message reaches the subscribers connected at that moment and is not
// stored, as the port asks.
func (n names) eventsSubject() string { return n.prefix + ".events" }

// Broadcast implements backend.Broadcaster.
func (b *Backend) Broadcast(ctx context.Context, msg []byte) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	if err := backend.CheckBroadcast("nats", msg); err != nil {
		return err
	}
	return b.wrap("broadcast", b.nc.Publish(b.names.eventsSubject(), msg))
}

// Listen implements backend.Broadcaster. The subscription survives
// reconnects (nats.go resubscribes); messages sent meanwhile are lost.
func (b *Backend) Listen(ctx context.Context) (<-chan []byte, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	c := make(chan []byte, backend.BroadcastBuffer)
	var mu sync.Mutex // sends and the close of c never overlap
	closed := false
	sub, err := b.nc.Subscribe(b.names.eventsSubject(), func(m *natsio.Msg) {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			return
		}
		select {
		case c <- m.Data:
		default: // the listener is BroadcastBuffer messages behind
		}
	})
	if err != nil {
		return nil, b.wrap("listen", err)
	}
	go func() {
		select {
		case <-ctx.Done():
		case <-b.done:
		}
		_ = sub.Unsubscribe()
		mu.Lock()
		closed = true
		close(c)
		mu.Unlock()
	}()
	return c, nil
}
