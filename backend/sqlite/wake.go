package sqlite

import (
	"context"
	"path/filepath"
	"sync"

	"conveyor/backend"
)

// In-process wake-ups: after a write that makes jobs claimable commits
// (enqueue, manual retry, promotion, rescue, a snooze that is due, queue
// resume), the backend signals the watchers of those queues at once. Every
// Backend opened on the same file in this process shares one hub, so a
// client and a worker opened separately still wake each other. Writes by
// other processes are noticed by the data_version poller (foreign.go).

// hub fans queue signals out to the watchers of one database file.
type hub struct {
	path     string
	refs     int // Backends using this hub; guarded by hubsMu
	mu       sync.Mutex
	watchers map[*watcher]struct{}
}

// watcher is one QueueWatch channel.
type watcher struct {
	queues map[string]bool
	c      chan string
}

var (
	hubsMu sync.Mutex
	hubs   = map[string]*hub{}
)

// hubKey identifies a file, so "x.db" and "./x.db" share a hub.
func hubKey(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

func acquireHub(path string) *hub {
	key := hubKey(path)
	hubsMu.Lock()
	defer hubsMu.Unlock()
	h := hubs[key]
	if h == nil {
		h = &hub{path: key, watchers: map[*watcher]struct{}{}}
		hubs[key] = h
	}
	h.refs++
	return h
}

func releaseHub(h *hub) {
	hubsMu.Lock()
	defer hubsMu.Unlock()
	h.refs--
	if h.refs == 0 && hubs[h.path] == h {
		delete(hubs, h.path)
	}
}

// signal sends q without blocking (called under the hub's mu): a full
// buffer already holds a pending signal, and coalescing is allowed.
func (w *watcher) signal(q string) {
	select {
	case w.c <- q:
	default:
	}
}

// hasWatchers reports whether anyone listens.
func (h *hub) hasWatchers() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.watchers) > 0
}

// notifyAll signals every watcher for each of its queues (see foreign.go).
func (h *hub) notifyAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.watchers {
		for q := range w.queues {
			w.signal(q)
		}
	}
}

// notify signals every watcher of any of queues, without blocking: a watcher
// whose buffer is full already has a pending signal (coalescing is allowed).
func (h *hub) notify(queues []string) {
	if len(queues) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.watchers {
		for _, q := range queues {
			if w.queues[q] {
				w.signal(q)
			}
		}
	}
}

// QueueWatch returns a channel that receives a queue name soon after a job
// of one of p.Queues becomes claimable through this process, or within
// Config.ForeignWakeInterval after another process wrote the file. It is
// closed when ctx ends or the backend is closed.
func (b *Backend) QueueWatch(ctx context.Context, p *backend.QueueWatchParams) (*backend.QueueWatchResult, error) {
	if b.closed.Load() {
		return nil, backend.ErrClosed
	}
	w := &watcher{queues: make(map[string]bool, len(p.Queues)), c: make(chan string, max(len(p.Queues), 1))}
	for _, q := range p.Queues {
		w.queues[q] = true
	}
	h := b.hub
	h.mu.Lock()
	h.watchers[w] = struct{}{}
	h.mu.Unlock()
	b.startForeignWake()
	go func() {
		select {
		case <-ctx.Done():
		case <-b.done:
		}
		h.mu.Lock()
		delete(h.watchers, w)
		close(w.c) // under h.mu, so notify never sends on a closed channel
		h.mu.Unlock()
	}()
	return &backend.QueueWatchResult{C: w.c}, nil
}

// wake signals the watchers of queues (deduplicated by the caller or not).
func (b *Backend) wake(queues ...string) {
	b.hub.notify(queues)
}
