package nats

import (
	"context"
	"sync"

	"conveyor/backend"

	natsio "github.com/nats-io/nats.go"
)

// watchBuffer is the capacity of a watch channel. Sends never block (a full
// channel coalesces the signal), so a slow watcher cannot stall the client.
const watchBuffer = 64

// watcher is one QueueWatch subscription.
type watcher struct {
	mu     sync.Mutex
	closed bool
	ch     chan string
	sub    *natsio.Subscription
}

// send delivers a queue name without blocking.
func (w *watcher) send(q string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	select {
	case w.ch <- q:
	default:
	}
}

// close closes the channel once.
func (w *watcher) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.closed = true
		close(w.ch)
	}
}

// QueueWatch subscribes (core NATS, no JetStream) to the wake subjects of
// the given queues (every queue if none). Every operation that makes jobs
// ready in a queue publishes one wake message per call and queue: enqueue,
// snooze, rescue, retry, promote, resume. Wake messages are best effort
// (not stored): the worker's fallback poll covers a missed one.
func (b *Backend) QueueWatch(ctx context.Context, p *backend.QueueWatchParams) (*backend.QueueWatchResult, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	w := &watcher{ch: make(chan string, watchBuffer)}
	var want map[string]bool
	if len(p.Queues) > 0 {
		want = map[string]bool{}
		for _, q := range p.Queues {
			want[q] = true
		}
	}
	handler := func(m *natsio.Msg) {
		q := string(m.Data)
		if want == nil || want[q] {
			w.send(q)
		}
	}
	// The wake subject's token is a hash of the queue name, so one
	// wildcard subscription filtered here serves any set of queues.
	var err error
	w.sub, err = b.nc.Subscribe(b.names.wakeAll(), handler)
	if err != nil {
		return nil, b.wrap("watch", err)
	}
	b.watchMu.Lock()
	if b.closed.Load() {
		b.watchMu.Unlock()
		_ = w.sub.Unsubscribe()
		return nil, backend.ErrClosed
	}
	b.watchers[w] = struct{}{}
	b.watchMu.Unlock()
	go func() {
		<-ctx.Done()
		b.watchMu.Lock()
		if _, ok := b.watchers[w]; ok {
			b.dropWatcherLocked(w)
		}
		b.watchMu.Unlock()
	}()
	return &backend.QueueWatchResult{C: w.ch}, nil
}

// dropWatcherLocked unsubscribes w and closes its channel. Callers hold
// b.watchMu.
func (b *Backend) dropWatcherLocked(w *watcher) {
	delete(b.watchers, w)
	if w.sub != nil {
		_ = w.sub.Unsubscribe()
	}
	w.close()
}

// wake publishes a wake-up for queue (best effort, core NATS).
func (b *Backend) wake(queue string) {
	_ = b.nc.Publish(b.names.wakeSubject(queue), []byte(queue))
}
