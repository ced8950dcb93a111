package memory

import (
	"context"
	"slices"

	"conveyor/backend"
)

var _ backend.Broadcaster = (*Backend)(nil)

// Broadcast implements backend.Broadcaster: every listener of this Backend
// (the process is the whole store) gets a copy.
func (b *Backend) Broadcast(ctx context.Context, msg []byte) error {
	if err := backend.CheckBroadcast("memory", msg); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return backend.ErrClosed
	}
	for _, l := range b.listeners {
		select {
		case l <- slices.Clone(msg):
		default: // the listener is BroadcastBuffer messages behind
		}
	}
	return nil
}

// Listen implements backend.Broadcaster.
func (b *Backend) Listen(ctx context.Context) (<-chan []byte, error) {
	c := make(chan []byte, backend.BroadcastBuffer)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, backend.ErrClosed
	}
	b.listeners = append(b.listeners, c)
	b.mu.Unlock()
	go func() {
		<-ctx.Done()
		b.mu.Lock()
		defer b.mu.Unlock()
		b.listeners = slices.DeleteFunc(b.listeners, func(x chan []byte) bool { return x == c })
		close(c) // sends happen under the same lock
	}()
	return c, nil
}
