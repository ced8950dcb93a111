package nats

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"conveyor/backend"

	natsio "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func init() {
	backend.Register(Open, "nats")
}

// DefaultPrefix names the streams and buckets when Config.Prefix is empty.
const DefaultPrefix = "CONVEYOR"

// Config configures a NATS backend. The zero value connects to
// nats://127.0.0.1:4222 with prefix CONVEYOR, one replica and migrations on.
type Config struct {
	// URL is the NATS server URL (several comma-separated are allowed).
	// Default nats://127.0.0.1:4222. A "prefix" query parameter is ignored
	// here; set Prefix instead.
	URL string
	// Prefix starts the name of every stream, bucket and subject the backend
	// uses, so several applications can share one server. Letters, digits,
	// '_' and '-' only. Default "CONVEYOR".
	Prefix string
	// Replicas is the replication factor of the streams and buckets created
	// by Migrate (1, 3 or 5 on a cluster). Default 1.
	Replicas int
	// DisableMigrate skips creating streams and buckets in New; they must
	// then exist (run Migrate once). Default false: New migrates.
	DisableMigrate bool
	// ConnectTimeout bounds the first connection. Default 5s.
	ConnectTimeout time.Duration
	// Name is the client connection name shown by the server. Default "conveyor".
	Name string
}

var prefixRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.URL == "" {
		c.URL = natsio.DefaultURL
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 5 * time.Second
	}
	if c.Name == "" {
		c.Name = "conveyor"
	}
	return c
}

// Validate reports a configuration error.
func (c Config) Validate() error {
	if !prefixRE.MatchString(c.Prefix) {
		return fmt.Errorf("nats: prefix %q: want letters, digits, '_' or '-'", c.Prefix)
	}
	return nil
}

// Backend is the NATS JetStream backend. It is safe for concurrent use.
type Backend struct {
	cfg   Config
	names names
	// holderTakeover is the package constant; tests shorten it.
	holderTakeover time.Duration
	nc             *natsio.Conn
	js             jetstream.JetStream

	jobs, queues, uniq, sched, running, records jetstream.KeyValue
	ready                                       jetstream.Stream

	closed    atomic.Bool
	closeOnce sync.Once
	// done is closed by Close: calls waiting for acknowledgements stop.
	done chan struct{}
	// acks routes the acknowledgements of stream writes (pubasync.go).
	acks acks

	// knownPrio remembers (queue, priority) pairs whose queue record and
	// consumer exist, so enqueue checks them once per process.
	knownPrio sync.Map // string -> struct{}
	// consumers remembers the pull consumers known to exist, by name.
	consumers sync.Map // string -> struct{}
	// top remembers each queue's highest priority, for a claim's first
	// pull made beside its read of the queue record (prefetch.go).
	top topPrio
	// readyDirect: the ready stream answers direct gets and has one
	// replica, so lastSeq may use them (set by bind).
	readyDirect bool
	// leases caches the record of each job this process holds running, so
	// finish and extend skip a read when nobody else touched the record.
	leases sync.Map // id -> *cached
	// runIdx tracks the running-index keys this process wrote, so each
	// goes once its leases ended here (runindex.go).
	runIdx runIndex
	// promoted lets JobPromote skip listing an unchanged scheduled index
	// (promotehint.go).
	promoted promoteHint

	// fetchWait is how long a claim's confirming pull waits for its first
	// message (see fetchAvailable): fetchWait on servers >= 2.10, which
	// count new and returned messages asynchronously; 0 on 2.9, which
	// counts them before acknowledging and would hold an expiring pull for
	// its whole expiry.
	fetchWait time.Duration
	// staleAge is staleIndexAge; tests shorten it to see sweeps.
	staleAge time.Duration

	watchMu  sync.Mutex
	watchers map[*watcher]struct{}
}

var (
	_ backend.Backend = (*Backend)(nil)
	_ backend.Waker   = (*Backend)(nil)
)

// New connects to NATS and, unless cfg.DisableMigrate, creates the streams
// and buckets.
func New(ctx context.Context, cfg Config) (*Backend, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	nc, err := natsio.Connect(cfg.URL,
		natsio.Name(cfg.Name),
		natsio.Timeout(cfg.ConnectTimeout),
		// Reconnect forever: a NATS restart must not need an application
		// restart. Publishes made while disconnected are buffered and
		// either acknowledged after the reconnect or time out.
		natsio.MaxReconnects(-1),
		natsio.ReconnectWait(250*time.Millisecond),
		natsio.ReconnectJitter(100*time.Millisecond, time.Second),
		natsio.PingInterval(5*time.Second),
		natsio.MaxPingsOutstanding(2),
		// Connection errors surface as errors of the calls they affect;
		// the default handler would print them to stderr.
		natsio.ErrorHandler(func(*natsio.Conn, *natsio.Subscription, error) {}),
	)
	if err != nil {
		return nil, fmt.Errorf("nats: connect %s: %w", backend.Redact(cfg.URL), err)
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(4096),
		jetstream.WithPublishAsyncTimeout(10*time.Second),
		jetstream.WithDefaultTimeout(10*time.Second),
	)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats: jetstream: %w", err)
	}
	b := &Backend{cfg: cfg, names: newNames(cfg.Prefix), holderTakeover: holderTakeover, nc: nc, js: js, watchers: map[*watcher]struct{}{}, done: make(chan struct{})}
	if err := b.startAcks(); err != nil {
		nc.Close()
		return nil, err
	}
	b.fetchWait = fetchWait
	b.staleAge = staleIndexAge
	if !serverAtLeast(nc.ConnectedServerVersion(), 2, 10) {
		b.fetchWait = 0
	}
	if cfg.DisableMigrate {
		err = b.bind(ctx)
	} else {
		err = b.Migrate(ctx)
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	return b, nil
}

// Open opens a backend from a URL nats://host:port?prefix=NAME. Every other
// part of the URL (user, password, several hosts) goes to the NATS client.
func Open(ctx context.Context, rawURL string) (backend.Backend, error) {
	u, err := backend.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	q := u.Query()
	cfg := Config{Prefix: q.Get("prefix")}
	q.Del("prefix")
	u.RawQuery = q.Encode()
	cfg.URL = u.String()
	return New(ctx, cfg)
}

// Capabilities describes the NATS backend.
func (b *Backend) Capabilities() backend.Capabilities {
	return backend.Capabilities{
		Name:          "nats",
		Wake:          true,
		Broadcast:     true,
		NeedsPromoter: true,
		NeedsPruner:   true,
		Durability: "an enqueue is acknowledged once JetStream stored it in file storage on every replica; " +
			"the server fsyncs every 2 minutes by default (sync_interval), so a power loss of a single " +
			"server can lose acknowledged jobs written since the last sync unless replicas >= 3 or sync_interval is 'always'",
	}
}

// Ping checks that the server answers JetStream requests.
func (b *Backend) Ping(ctx context.Context) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	if _, err := b.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("nats: ping: %w", err)
	}
	return nil
}

// Close closes the connection and every watch channel. Idempotent.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		close(b.done)
		b.watchMu.Lock()
		for w := range b.watchers {
			b.dropWatcherLocked(w)
		}
		b.watchMu.Unlock()
		b.nc.Close()
	})
	return nil
}

// check reports ctx's error or ErrClosed.
func (b *Backend) check(ctx context.Context) error {
	if b.closed.Load() {
		return backend.ErrClosed
	}
	return ctx.Err()
}

// wrap adds context to a NATS error, mapping a closed connection to ErrClosed.
func (b *Backend) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if b.closed.Load() || errors.Is(err, natsio.ErrConnectionClosed) {
		return fmt.Errorf("nats: %s: %w", op, backend.ErrClosed)
	}
	return fmt.Errorf("nats: %s: %w", op, err)
}

// serverAtLeast reports whether a server version "2.9.10" is at least
// major.minor (unknown versions count as recent).
func serverAtLeast(version string, major, minor int) bool {
	var ma, mi int
	if _, err := fmt.Sscanf(version, "%d.%d", &ma, &mi); err != nil {
		return true
	}
	return ma > major || ma == major && mi >= minor
}
