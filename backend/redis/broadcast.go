package redis

import (
	"context"
	"fmt"

	"conveyor/backend"

	goredis "github.com/redis/go-redis/v9"
)

var _ backend.Broadcaster = (*Backend)(nil)

// eventsChannel carries broadcasts (pub/sub: delivered to the subscribers
// connected at that moment, never stored). Not a key, so it needs no
// cluster slot: on a Cluster, PUBLISH reaches subscribers on every node.
func (k keys) eventsChannel() string { return k.prefix + ":events" }

// Broadcast implements backend.Broadcaster with PUBLISH.
func (b *Backend) Broadcast(ctx context.Context, msg []byte) error {
	if err := b.check(); err != nil {
		return err
	}
	if err := backend.CheckBroadcast("redis", msg); err != nil {
		return err
	}
	if err := b.rdb.Publish(ctx, b.k.eventsChannel(), msg).Err(); err != nil {
		return fmt.Errorf("redis: broadcast: %w", err)
	}
	return nil
}

// Listen implements backend.Broadcaster with SUBSCRIBE, confirmed before it
// returns (so a broadcast that follows is received). go-redis resubscribes
// after a reconnect; messages published meanwhile are lost.
func (b *Backend) Listen(ctx context.Context) (<-chan []byte, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	ps := b.rdb.Subscribe(ctx, b.k.eventsChannel())
	if _, err := ps.Receive(ctx); err != nil {
		_ = ps.Close()
		return nil, fmt.Errorf("redis: listen: subscribe: %w", err)
	}
	out := make(chan []byte, backend.BroadcastBuffer)
	go func() {
		defer close(out)
		b.relay(ctx, ps, func(m *goredis.Message) {
			select {
			case out <- []byte(m.Payload):
			default: // the listener is BroadcastBuffer messages behind
			}
		})
	}()
	return out, nil
}
