package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"conveyor/backend"
)

// DefaultSchema is the schema used when none is configured.
const DefaultSchema = "conveyor"

func init() {
	backend.Register(func(ctx context.Context, rawURL string) (backend.Backend, error) {
		return Open(ctx, rawURL)
	}, "postgres", "postgresql")
}

// Config configures New. The zero value of every field means its default.
type Config struct {
	// URL is the pgx connection string (postgres://…). Required unless Pool
	// is set. A "schema" query parameter is NOT understood here; use Schema.
	URL string
	// Pool is an existing pool to use instead of opening one from URL. The
	// backend does not close it. Default: nil (open a pool from URL).
	Pool *pgxpool.Pool
	// Schema is the PostgreSQL schema holding conveyor's tables, so several
	// applications can share a database. Default: "conveyor".
	Schema string
	// SkipMigrate disables the migrations New runs. Default: false (migrate).
	SkipMigrate bool
	// MaxConns is the pool size when the backend opens the pool. Default:
	// the URL's pool_max_conns parameter if given, else 16 (enough for 16
	// concurrent enqueuers plus a worker's claim, finish and heartbeat calls).
	MaxConns int32
	// ListenerRetry is the delay before the wake-up listener reconnects after
	// its connection dropped. Default: 250 ms.
	ListenerRetry time.Duration
}

// WithDefaults returns a copy of c with defaults filled in.
func (c Config) WithDefaults() Config {
	if c.Schema == "" {
		c.Schema = DefaultSchema
	}
	if c.MaxConns == 0 && !strings.Contains(c.URL, "pool_max_conns=") {
		c.MaxConns = 16
	}
	if c.ListenerRetry == 0 {
		c.ListenerRetry = 250 * time.Millisecond
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if c.URL == "" && c.Pool == nil {
		return errors.New("postgres: Config.URL or Config.Pool is required")
	}
	if len(c.Schema) > 63 {
		return fmt.Errorf("postgres: schema name %q is longer than 63 bytes", c.Schema)
	}
	if c.MaxConns < 0 {
		return fmt.Errorf("postgres: MaxConns %d is negative", c.MaxConns)
	}
	return nil
}

// Backend is the PostgreSQL backend. It is safe for concurrent use.
type Backend struct {
	cfg      Config
	pool     *pgxpool.Pool
	ownsPool bool
	schema   string // quoted identifier
	channel  string // NOTIFY channel of this schema
	instance string // random ID marking this Backend's notifications
	q        *queries

	wake     *waker
	notifier *notifier
	combiner *combiner

	// knownQueues holds the queues this process saw committed to the queues
	// table (rows are never deleted), so enqueues skip registering them.
	knownQueues sync.Map

	closeOnce sync.Once
	closed    chan struct{}
}

var (
	_ backend.Backend    = (*Backend)(nil)
	_ backend.Waker      = (*Backend)(nil)
	_ backend.TxEnqueuer = (*Backend)(nil)
)

// Open opens the backend named by a postgres:// or postgresql:// URL. The
// optional "schema" query parameter selects the schema (default "conveyor")
// and is removed before the URL is handed to pgx. Migrations run.
func Open(ctx context.Context, rawURL string) (*Backend, error) {
	pgURL, schema, err := SplitURL(rawURL)
	if err != nil {
		return nil, err
	}
	return New(ctx, Config{URL: pgURL, Schema: schema})
}

// SplitURL removes the "schema" query parameter from a backend URL and
// returns the URL for pgx and the schema ("" when absent).
func SplitURL(rawURL string) (pgURL, schema string, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error quotes the URL whole, password included, and a URL
		// that does not parse cannot be redacted: keep only the reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", "", fmt.Errorf("postgres: parse URL: %w", err)
	}
	q := u.Query()
	schema = q.Get("schema")
	q.Del("schema")
	u.RawQuery = q.Encode()
	return u.String(), schema, nil
}

// New opens a backend from a Config, running migrations unless
// cfg.SkipMigrate is set.
func New(ctx context.Context, cfg Config) (*Backend, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &Backend{
		cfg:      cfg,
		pool:     cfg.Pool,
		schema:   pgx.Identifier{cfg.Schema}.Sanitize(),
		channel:  channelName(cfg.Schema),
		instance: newInstanceID(),
		closed:   make(chan struct{}),
	}
	q, err := loadQueries(b.schema)
	if err != nil {
		return nil, err
	}
	b.q = q
	if b.pool == nil {
		pcfg, err := pgxpool.ParseConfig(cfg.URL)
		if err != nil {
			// pgx's error already names the URL, password redacted.
			return nil, fmt.Errorf("postgres: %w", err)
		}
		if cfg.MaxConns > 0 {
			pcfg.MaxConns = cfg.MaxConns
		}
		pool, err := pgxpool.NewWithConfig(ctx, pcfg)
		if err != nil {
			return nil, fmt.Errorf("postgres: open pool: %w", err)
		}
		b.pool, b.ownsPool = pool, true
	}
	b.wake = newWaker(b)
	b.notifier = newNotifier(b)
	b.combiner = &combiner{b: b}
	if !cfg.SkipMigrate {
		if err := b.Migrate(ctx); err != nil {
			b.Close()
			return nil, err
		}
	}
	return b, nil
}

// channelName is the NOTIFY channel of a schema. Channel names are
// identifiers (at most 63 bytes), so long schema names are shortened with a
// hash that keeps them distinct.
func channelName(schema string) string { return schemaChannel("conveyor_wake.", schema) }

// schemaChannel names a NOTIFY channel of a schema: prefix and schema, or,
// past PostgreSQL's 63-byte identifier limit, a cut schema and a hash of it.
func schemaChannel(prefix, schema string) string {
	name := prefix + schema
	if len(name) <= 63 {
		return name
	}
	var h uint64 = 14695981039346656037
	for i := 0; i < len(schema); i++ {
		h ^= uint64(schema[i])
		h *= 1099511628211
	}
	return fmt.Sprintf("%s%.*s.%016x", prefix, 63-len(prefix)-17, schema, h)
}

// Pool returns the connection pool, for applications that open their own
// transactions to pass to JobEnqueueTx.
func (b *Backend) Pool() *pgxpool.Pool { return b.pool }

// Schema returns the schema name the backend uses.
func (b *Backend) Schema() string { return b.cfg.Schema }

// Capabilities implements backend.Lifecycle.
func (b *Backend) Capabilities() backend.Capabilities {
	return backend.Capabilities{
		Name:          "postgres",
		TxEnqueue:     true,
		Wake:          true,
		Broadcast:     true,
		NeedsPromoter: false, // claim takes due scheduled and retrying jobs itself
		NeedsPruner:   true,
		Durability:    "An enqueue is acknowledged after PostgreSQL committed it (durable as the server's synchronous_commit setting, on by default: flushed to the WAL).",
	}
}

// Ping implements backend.Lifecycle.
func (b *Backend) Ping(ctx context.Context) error {
	if b.isClosed() {
		return backend.ErrClosed
	}
	if err := b.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close stops the wake-up listener and closes the pool (if the backend
// opened it). Idempotent.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		close(b.closed)
		b.wake.stop()
		b.notifier.stop()
		if b.ownsPool {
			b.pool.Close()
		}
	})
	return nil
}

func (b *Backend) isClosed() bool {
	select {
	case <-b.closed:
		return true
	default:
		return false
	}
}

// check returns ErrClosed after Close.
func (b *Backend) check() error {
	if b.isClosed() {
		return backend.ErrClosed
	}
	return nil
}
