package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"conveyor/backend"
)

// waker fans wake-ups out to QueueWatch channels. Notifications come from a
// dedicated LISTEN connection (started with the first watch, re-established
// after a drop) and, for enqueues made through this Backend, directly.
type waker struct {
	b *Backend

	mu       sync.Mutex
	watchers map[*watcher]struct{}
	started  bool
	cancel   context.CancelFunc
	done     chan struct{}
}

// watcher is one QueueWatch call.
type watcher struct {
	queues map[string]bool
	c      chan string
}

func newWaker(b *Backend) *waker {
	return &waker{b: b, watchers: map[*watcher]struct{}{}}
}

// QueueWatch implements backend.Waker. Signals are best effort: a queue name
// is dropped when the watcher's buffer already holds a signal, and after the
// listener reconnects every watcher gets a signal per queue (notifications
// sent while it was down are lost, so idle workers should look).
func (b *Backend) QueueWatch(ctx context.Context, p *backend.QueueWatchParams) (*backend.QueueWatchResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	w := &watcher{queues: map[string]bool{}, c: make(chan string, max(len(p.Queues), 1))}
	for _, q := range p.Queues {
		w.queues[q] = true
	}
	b.wake.add(w)
	go func() {
		select {
		case <-ctx.Done():
		case <-b.closed:
		}
		b.wake.remove(w)
	}()
	return &backend.QueueWatchResult{C: w.c}, nil
}

func (k *waker) add(w *watcher) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.watchers[w] = struct{}{}
	if !k.started {
		k.started = true
		ctx, cancel := context.WithCancel(context.Background())
		k.cancel, k.done = cancel, make(chan struct{})
		go k.listen(ctx)
	}
}

// remove unregisters w and closes its channel; sends happen under the same
// lock, so none can hit the closed channel.
func (k *waker) remove(w *watcher) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.watchers[w]; ok {
		delete(k.watchers, w)
		close(w.c)
	}
}

// local signals the watchers of queue without a round trip to PostgreSQL.
func (k *waker) local(queue string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for w := range k.watchers {
		if w.queues[queue] {
			select {
			case w.c <- queue:
			default: // a signal is already pending: coalesce
			}
		}
	}
}

// all signals every watcher for each of its queues.
func (k *waker) all() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for w := range k.watchers {
		for q := range w.queues {
			select {
			case w.c <- q:
			default:
			}
		}
	}
}

// stop ends the listener (if started) and waits for it.
func (k *waker) stop() {
	k.mu.Lock()
	cancel, done := k.cancel, k.done
	k.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// listen keeps a LISTEN connection open until ctx ends, reconnecting after
// ListenerRetry whenever it drops.
func (k *waker) listen(ctx context.Context) {
	defer close(k.done)
	first := true
	for ctx.Err() == nil {
		err := k.listenOnce(ctx, !first)
		first = false
		if ctx.Err() != nil {
			return
		}
		_ = err // the connection dropped or could not be opened: retry
		select {
		case <-ctx.Done():
			return
		case <-time.After(k.b.cfg.ListenerRetry):
		}
	}
}

// listenerAppName is the application_name of a schema's listener connection.
func listenerAppName(schema string) string {
	name := "conveyor-listener " + schema
	if len(name) > 63 {
		name = name[:63]
	}
	return name
}

// listenOnce opens one connection, LISTENs and dispatches notifications
// until the connection fails or ctx ends.
func (k *waker) listenOnce(ctx context.Context, reconnected bool) error {
	cfg := k.b.pool.Config().ConnConfig.Copy()
	// Named so operators (and the reconnect test) can find it in pg_stat_activity.
	cfg.RuntimeParams["application_name"] = listenerAppName(k.b.cfg.Schema)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("postgres: listener: connect: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{k.b.channel}.Sanitize()); err != nil {
		return fmt.Errorf("postgres: listener: listen: %w", err)
	}
	if reconnected {
		k.all() // notifications sent while disconnected are lost
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("postgres: listener: %w", err)
		}
		queue, origin := parsePayload(n.Payload)
		if origin == k.b.instance {
			continue // sent by this Backend after it already woke its own watchers
		}
		k.local(queue)
	}
}

// notifier sends the wake-up NOTIFYs of enqueues made outside a caller's
// transaction. Queues to announce accumulate while one notify statement is in
// flight and go out together in the next, so under a stream of enqueues the
// notifications are debounced to one statement per round trip, whatever the
// enqueue rate. The statement runs in its own transaction, which writes no
// WAL, so the database-wide notify lock is held only for an instant.
type notifier struct {
	b      *Backend
	mu     sync.Mutex
	dirty  map[string]struct{}
	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

func newNotifier(b *Backend) *notifier {
	ctx, cancel := context.WithCancel(context.Background())
	n := &notifier{b: b, dirty: map[string]struct{}{}, kick: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	go n.run(ctx)
	return n
}

// add schedules a notification for queue.
func (n *notifier) add(queue string) {
	n.mu.Lock()
	n.dirty[queue] = struct{}{}
	n.mu.Unlock()
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

func (n *notifier) run(ctx context.Context) {
	defer close(n.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.kick:
		}
		n.mu.Lock()
		queues := make([]string, 0, len(n.dirty))
		for q := range n.dirty {
			queues = append(queues, q)
		}
		clear(n.dirty)
		n.mu.Unlock()
		if len(queues) == 0 {
			continue
		}
		sendCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		// Best effort: a lost notification costs latency, not jobs (workers poll).
		payloads := make([]string, len(queues))
		for i, q := range queues {
			payloads[i] = n.b.instance + originSep + q
		}
		_, _ = n.b.pool.Exec(sendCtx, n.b.q.notify, n.b.channel, payloads)
		cancel()
	}
}

// stop ends the notifier and waits for it.
func (n *notifier) stop() {
	n.cancel()
	<-n.done
}

// A notification's payload is the queue name, optionally prefixed by the
// instance ID of the Backend that sent it and originSep. Enqueues outside a
// transaction wake this Backend's own watchers directly and send a prefixed
// payload, so the listener skips its own echo; notifications sent by SQL
// (in a caller's transaction, by rescue and promote) carry no prefix.
const originSep = "|"

// instanceIDLen is the length of an instance ID (hex).
const instanceIDLen = 16

// parsePayload splits a payload into queue name and origin ("" if none).
func parsePayload(p string) (queue, origin string) {
	if len(p) > instanceIDLen && p[instanceIDLen:instanceIDLen+1] == originSep && isHex(p[:instanceIDLen]) {
		return p[instanceIDLen+1:], p[:instanceIDLen]
	}
	return p, ""
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// newInstanceID returns a random instance ID of instanceIDLen hex digits.
func newInstanceID() string {
	var b [instanceIDLen / 2]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
