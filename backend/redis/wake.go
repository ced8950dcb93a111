package redis

import (
	"context"
	"fmt"
	"strings"

	"conveyor/backend"

	goredis "github.com/redis/go-redis/v9"
)

// QueueWatch implements backend.Waker with pub/sub: the scripts that make
// jobs claimable (enqueue, promote, rescue, snooze, retry, resume) publish
// on the queue's channel. The subscription is confirmed by the server before
// QueueWatch returns, so an enqueue that follows is never missed. go-redis
// resubscribes by itself after a reconnect; signals published while the
// connection was down are lost, which the worker's fallback poll covers.
func (b *Backend) QueueWatch(ctx context.Context, p *backend.QueueWatchParams) (*backend.QueueWatchResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	if len(p.Queues) == 0 {
		return nil, fmt.Errorf("watch: no queues given")
	}
	channels := make([]string, len(p.Queues))
	for i, q := range p.Queues {
		channels[i] = b.k.wakeChannel(q)
	}
	ps := b.rdb.Subscribe(ctx, channels...)
	for range channels {
		if _, err := ps.Receive(ctx); err != nil {
			_ = ps.Close()
			return nil, fmt.Errorf("watch queues: subscribe: %w", err)
		}
	}
	prefix := b.k.wakeChannel("")
	out := make(chan string, len(p.Queues))
	go func() {
		defer close(out)
		b.relay(ctx, ps, func(m *goredis.Message) {
			select {
			case out <- strings.TrimPrefix(m.Channel, prefix):
			default: // a signal is already pending: coalesce
			}
		})
	}()
	return &backend.QueueWatchResult{C: out}, nil
}

// relay hands ps's messages to deliver until ctx ends, the backend closes
// or the subscription ends, then closes ps.
func (b *Backend) relay(ctx context.Context, ps *goredis.PubSub, deliver func(*goredis.Message)) {
	defer ps.Close()
	in := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.closed:
			return
		case m, ok := <-in:
			if !ok {
				return
			}
			deliver(m)
		}
	}
}
