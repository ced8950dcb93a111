package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"conveyor/backend"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Compile-time checks of the roles this backend implements.
var (
	_ backend.Backend    = (*Backend)(nil)
	_ backend.Waker      = (*Backend)(nil)
	_ backend.TxEnqueuer = (*Backend)(nil)
)

// durability is Capabilities.Durability, one sentence per synchronous level.
var durability = map[string]string{
	SyncNormal: "An acknowledged enqueue is committed to the SQLite WAL (synchronous=NORMAL): it survives a crash or kill of the process, but an OS crash or power loss can lose the transactions committed since the WAL was last fsynced (at a checkpoint); the file stays consistent.",
	SyncFull:   "An acknowledged enqueue is committed and fsynced to the SQLite WAL (synchronous=FULL): it survives a process crash, an OS crash and power loss.",
}

// Backend is the SQLite backend. It is safe for concurrent use. Writes go
// through one connection (so each call is one transaction and writers never
// contend inside the process); reads use a separate pool, which WAL lets run
// alongside the writer.
type Backend struct {
	cfg    Config
	writer *sql.DB // exactly one connection: every write, and DB()
	reader *sql.DB // query_only connections for JobGet, JobList, QueueList, records reads

	stmts atomic.Pointer[stmts] // nil until the schema is migrated
	hub   *hub                  // wake-ups for this file, shared in the process

	foreignOnce sync.Once     // starts the data_version poller (foreign.go)
	broadcasts  atomic.Uint64 // Broadcast calls, to prune every broadcastPruneEvery
	closeOnce   sync.Once
	closed      atomic.Bool
	done        chan struct{} // closed by Close; ends watchers
}

// stmts are the statements prepared once on the writer (and the reader for
// reads). Inside a transaction they are bound with tx.StmtContext, which
// reuses the preparation because the writer has a single connection.
type stmts struct {
	holder, insert, jobState, queueEnsure                     *sql.Stmt
	claim, finishCompleted, finishRetry, finishFinal, snoozed *sql.Stmt
	leaseExtend                                               *sql.Stmt
	readGet                                                   *sql.Stmt

	manyMu sync.Mutex
	many   map[int]*sql.Stmt // finish_completed_many.sql by padded row count
}

// New opens (creating if needed) the database at cfg.Path and, unless
// cfg.SkipMigrate, migrates it.
func New(ctx context.Context, cfg Config) (*Backend, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	writer, err := sql.Open("sqlite", dsn(cfg, true))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", cfg.Path, err)
	}
	// One connection: every write is serialized here instead of fighting
	// over SQLite's file lock, and each call's batch is one transaction.
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	// Open the writer first: it creates the file and switches it to WAL,
	// which the readers then find.
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", cfg.Path, err)
	}
	reader, err := sql.Open("sqlite", dsn(cfg, false))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", cfg.Path, err)
	}
	reader.SetMaxOpenConns(cfg.ReadConns)
	reader.SetMaxIdleConns(cfg.ReadConns)
	b := &Backend{cfg: cfg, writer: writer, reader: reader, done: make(chan struct{})}
	b.hub = acquireHub(cfg.Path)
	if !cfg.SkipMigrate {
		if err := b.Migrate(ctx); err != nil {
			b.Close()
			return nil, err
		}
	} else if err := b.prepare(ctx); err != nil {
		// Not migrated yet: statements are prepared by Migrate.
		b.stmts.Store(nil)
	}
	return b, nil
}

// dsn builds the modernc.org/sqlite data source name. The writer asks for
// WAL (persistent in the file), the configured synchronous level and
// BEGIN IMMEDIATE, so a transaction takes the write lock when it starts and
// waits busy_timeout for another process instead of failing on upgrade.
func dsn(cfg Config, writer bool) string {
	v := "?_pragma=busy_timeout(" + strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10) + ")" +
		"&_pragma=cache_size(-" + strconv.Itoa(cfg.CacheKiB) + ")" +
		"&_pragma=temp_store(MEMORY)"
	if writer {
		v += "&_pragma=journal_mode(WAL)" +
			"&_pragma=synchronous(" + cfg.Synchronous + ")" +
			"&_txlock=immediate"
	} else {
		v += "&_query_only=1"
	}
	return cfg.Path + v
}

// prepare prepares the long-lived statements. It needs the schema.
func (b *Backend) prepare(ctx context.Context) error {
	if b.stmts.Load() != nil {
		return nil
	}
	var s stmts
	var err error
	w := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = b.writer.PrepareContext(ctx, q)
		return st
	}
	s.holder = w(sqlEnqueueHolder)
	s.insert = w(sqlEnqueueInsert)
	s.jobState = w(sqlJobState)
	s.queueEnsure = w(sqlQueueEnsure)
	s.claim = w(sqlClaim)
	s.finishCompleted = w(sqlFinishCompleted)
	s.finishRetry = w(sqlFinishRetry)
	s.finishFinal = w(sqlFinishFinal)
	s.snoozed = w(sqlFinishSnoozed)
	s.leaseExtend = w(sqlLeaseExtend)
	if err == nil {
		s.readGet, err = b.reader.PrepareContext(ctx, sqlJobGet)
	}
	if err != nil {
		s.close()
		return fmt.Errorf("sqlite: prepare statements: %w", err)
	}
	b.stmts.Store(&s)
	return nil
}

func (s *stmts) close() {
	for _, st := range []*sql.Stmt{s.holder, s.insert, s.jobState, s.queueEnsure, s.claim,
		s.finishCompleted, s.finishRetry, s.finishFinal, s.snoozed, s.leaseExtend, s.readGet} {
		if st != nil {
			st.Close()
		}
	}
	s.manyMu.Lock()
	defer s.manyMu.Unlock()
	for _, st := range s.many {
		st.Close()
	}
	s.many = nil
}

// ready returns the prepared statements, or ErrClosed, or an error saying
// the schema is not migrated.
func (b *Backend) ready() (*stmts, error) {
	if b.closed.Load() {
		return nil, backend.ErrClosed
	}
	s := b.stmts.Load()
	if s == nil {
		return nil, errors.New("sqlite: schema not migrated (call Migrate)")
	}
	return s, nil
}

// fail wraps err with the operation's name, reporting ErrClosed when the
// backend was closed underneath the call.
func (b *Backend) fail(op string, err error) error {
	if b.closed.Load() {
		return fmt.Errorf("sqlite: %s: %w", op, backend.ErrClosed)
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// DB returns the writer: the single-connection *sql.DB every write of this
// backend goes through. Open transactions for JobEnqueueTx on it (see the
// package doc for what is supported). While a transaction from DB() is open,
// every other write of this backend waits for it.
func (b *Backend) DB() *sql.DB { return b.writer }

// Capabilities reports what this backend offers: transactional enqueue,
// in-process wake-ups, broadcasts through a table, a pruner; claims take
// due jobs without a promoter.
func (b *Backend) Capabilities() backend.Capabilities {
	return backend.Capabilities{
		Name:          "sqlite",
		TxEnqueue:     true,
		Wake:          true,
		Broadcast:     true,
		NeedsPromoter: false,
		NeedsPruner:   true,
		Durability:    durability[b.cfg.Synchronous],
	}
}

// Ping checks that the file can be read. It uses the read pool, so it does
// not wait behind a long write transaction.
func (b *Backend) Ping(ctx context.Context) error {
	if b.closed.Load() {
		return backend.ErrClosed
	}
	var one int
	if err := b.reader.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return b.fail("ping", err)
	}
	return nil
}

// Close closes both pools and ends every QueueWatch channel. Idempotent.
func (b *Backend) Close() error {
	var err error
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		close(b.done)
		releaseHub(b.hub)
		if s := b.stmts.Load(); s != nil {
			s.close()
		}
		err = errors.Join(b.reader.Close(), b.writer.Close())
	})
	return err
}
