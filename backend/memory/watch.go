package memory

import (
	"context"

	"conveyor/backend"
)

// watchBuffer is the capacity of a watch channel. Sends never block (a full
// channel coalesces the signal), so a slow watcher cannot stall the store.
const watchBuffer = 64

// watcher is one QueueWatch subscription.
type watcher struct {
	queues map[string]struct{} // nil: every queue
	ch     chan string
	stop   chan struct{} // closed when the store drops the watcher
}

// QueueWatch returns a channel that receives a queue name when jobs become
// claimable in it: enqueued queued, snoozed back to queued, rescued, retried,
// promoted by JobPromote, or its queue resumed. Scheduled jobs that become
// due are not signalled (no timers); the worker's fallback poll finds them.
// An empty Queues watches every queue. The channel closes when ctx ends or
// the backend is closed.
func (b *Backend) QueueWatch(ctx context.Context, p *backend.QueueWatchParams) (*backend.QueueWatchResult, error) {
	w := &watcher{ch: make(chan string, watchBuffer), stop: make(chan struct{})}
	if len(p.Queues) > 0 {
		w.queues = make(map[string]struct{}, len(p.Queues))
		for _, q := range p.Queues {
			w.queues[q] = struct{}{}
		}
	}
	b.mu.Lock()
	if err := b.check(ctx); err != nil {
		b.mu.Unlock()
		return nil, err
	}
	b.watchers[w] = struct{}{}
	b.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
			b.mu.Lock()
			if _, ok := b.watchers[w]; ok {
				b.dropWatcher(w)
			}
			b.mu.Unlock()
		case <-w.stop:
		}
	}()
	return &backend.QueueWatchResult{C: w.ch}, nil
}

// dropWatcher unregisters w and closes its channel. Callers hold b.mu, which
// is also held by every send, so no send can hit the closed channel.
func (b *Backend) dropWatcher(w *watcher) {
	delete(b.watchers, w)
	close(w.stop)
	close(w.ch)
}

// wake signals the watchers of queue without blocking. Callers hold b.mu.
func (b *Backend) wake(queue string) {
	for w := range b.watchers {
		if w.queues != nil {
			if _, ok := w.queues[queue]; !ok {
				continue
			}
		}
		select {
		case w.ch <- queue:
		default:
		}
	}
}
