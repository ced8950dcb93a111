package redis

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"conveyor/backend"
)

func init() {
	// go-redis writes pool and dial errors to stderr through the standard
	// log package; those errors also reach callers as returned errors, so
	// its own lines only break the CLI's one-line error. Route them to slog
	// at debug level instead.
	goredis.SetLogger(slogPrintf{})
	backend.Register(func(ctx context.Context, rawURL string) (backend.Backend, error) {
		return Open(ctx, rawURL)
	}, "redis", "rediss")
}

// Defaults of Config.
const (
	// DefaultURL is the server used when Config.URL and Config.Client are empty.
	DefaultURL = "redis://127.0.0.1:6379/0"
	// DefaultPrefix prefixes every key when neither Config.Prefix nor the
	// URL's prefix parameter is set.
	DefaultPrefix = "conveyor"
	// DefaultBatch bounds the jobs one maintenance script call (promote,
	// rescue, prune, purge) touches, so no call blocks the server for long.
	DefaultBatch = 1000
)

// Config configures New. The zero value connects to DefaultURL with
// DefaultPrefix and runs Migrate.
type Config struct {
	// URL is a redis:// or rediss:// URL as accepted by go-redis ParseURL,
	// plus an optional prefix=NAME query parameter. Default DefaultURL.
	// Ignored when Client is set (except for its prefix parameter).
	URL string
	// Prefix is the key prefix that isolates this store from others on the
	// same server. Default: the URL's prefix parameter, else DefaultPrefix.
	Prefix string
	// Client is an existing client (single node, Sentinel or Cluster). Close
	// leaves it open. Default: a client built from URL, closed by Close.
	Client goredis.UniversalClient
	// Batch bounds the jobs one maintenance script call touches. Default
	// DefaultBatch.
	Batch int
	// SkipMigrate makes New not call Migrate. Default false.
	SkipMigrate bool
}

// WithDefaults returns a copy of c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.Batch == 0 {
		c.Batch = DefaultBatch
	}
	return c
}

// Validate reports a configuration error.
func (c Config) Validate() error {
	if c.Batch < 0 {
		return fmt.Errorf("redis backend: Batch must be >= 0, got %d", c.Batch)
	}
	// ':' separates the prefix from the queue name in every key: prefix
	// "p" with queue "a:b" and prefix "p:a" with queue "b" would share keys.
	if strings.ContainsAny(c.Prefix, "{}|:") {
		return fmt.Errorf("redis backend: prefix %q must not contain '{', '}', '|' or ':'", c.Prefix)
	}
	return nil
}

// Backend is the Redis backend. It is safe for concurrent use.
type Backend struct {
	rdb       goredis.UniversalClient
	ownClient bool
	k         keys
	batch     int

	// queueSeen maps a queue name to when this process last confirmed it in the
	// queues set (see registerQueue).
	queueSeen sync.Map
	// nameCache maps a queue name to its *queueNames.
	nameCache sync.Map
	// co groups concurrent small enqueues into shared script calls.
	co coalescer
	// idQueue caches job ID -> queue (a job never changes queue), so JobGet
	// and friends skip the index lookup for jobs this process has seen.
	idQueue idCache

	closeOnce sync.Once
	closed    chan struct{}
}

var (
	_ backend.Backend = (*Backend)(nil)
	_ backend.Waker   = (*Backend)(nil)
)

// Open opens the backend a redis:// or rediss:// URL names; the optional
// prefix=NAME query parameter selects the key prefix (default "conveyor").
func Open(ctx context.Context, rawURL string) (*Backend, error) {
	return New(ctx, Config{URL: rawURL})
}

// splitPrefix removes the prefix parameter from a URL, returning both.
func splitPrefix(rawURL string) (string, string, error) {
	u, err := backend.ParseURL(rawURL)
	if err != nil {
		return "", "", err
	}
	q := u.Query()
	prefix := q.Get("prefix")
	q.Del("prefix")
	u.RawQuery = q.Encode()
	return u.String(), prefix, nil
}

// New connects to Redis and, unless cfg.SkipMigrate, runs Migrate.
func New(ctx context.Context, cfg Config) (*Backend, error) {
	cfg = cfg.WithDefaults()
	clean, urlPrefix, err := splitPrefix(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.Prefix == "" {
		cfg.Prefix = urlPrefix
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &Backend{rdb: cfg.Client, k: keys{prefix: cfg.Prefix}, batch: cfg.Batch, closed: make(chan struct{})}
	b.co = coalescer{max: enqueueCallsInFlight(), send: b.enqueueGroup}
	if b.rdb == nil {
		opts, err := goredis.ParseURL(clean)
		if err != nil {
			return nil, fmt.Errorf("parse URL: %w", err)
		}
		b.rdb = goredis.NewClient(opts)
		b.ownClient = true
	}
	if !cfg.SkipMigrate {
		if err := b.Migrate(ctx); err != nil {
			_ = b.Close()
			return nil, err
		}
	}
	return b, nil
}

// Client returns the underlying go-redis client (for tools and tests).
func (b *Backend) Client() goredis.UniversalClient { return b.rdb }

// Prefix returns the key prefix of this store.
func (b *Backend) Prefix() string { return b.k.prefix }

// Capabilities implements backend.Lifecycle.
func (b *Backend) Capabilities() backend.Capabilities {
	return backend.Capabilities{
		Name:      "redis",
		Wake:      true,
		Broadcast: true,
		// JobClaim takes due scheduled and retrying jobs itself, but a
		// periodic JobPromote is what publishes the wake-up when a scheduled
		// job falls due, so idle workers start it at once instead of at
		// their next fallback poll.
		NeedsPromoter: true,
		// No TTLs: finished jobs stay until JobPrune removes them.
		NeedsPruner: true,
		Durability: "as the server's persistence: with appendonly yes and appendfsync always an acknowledged " +
			"enqueue survives a crash; with appendfsync everysec up to about one second of acknowledged writes " +
			"can be lost; with AOF off everything since the last RDB snapshot (or everything) is lost",
	}
}

// Ping implements backend.Lifecycle.
func (b *Backend) Ping(ctx context.Context) error {
	if err := b.check(); err != nil {
		return err
	}
	if err := b.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

// schemaVersion is the data layout version Migrate records. Version 2
// named running jobs "RANDOM.N|ID" in the running set (version 1: ID).
// Version 3 lets finish record a plain completion without writing the job
// hash (see finish.lua): the hash keeps saying running and readers consult
// the completed set. Version 4 lets a job's ready or scheduled member
// carry its claim body after a NUL byte (see doc.go); a member without
// one is claimed from the job hash, so version-1 to -3 data reads the same
// and Migrate upgrades those prefixes in place (a job claimed under
// version 1 and finished after the upgrade reports its lease lost and is
// handed back by JobRescue when its lease expires). Builds that know only
// version 3 or older refuse a version-4 prefix: they would take a member
// with a body for a job ID of that name, losing the job at claim and
// missing it at cancel or delete.
const schemaVersion = "4"

// upgradable are the layout versions Migrate accepts: none (a new prefix),
// the older ones it upgrades in place, and its own.
var upgradable = []any{"", "1", "2", "3", schemaVersion}

// Migrate implements backend.Lifecycle: it loads the scripts and records the
// layout version. Redis has no schema, so this is idempotent and cheap. The
// version is checked and set in one script, so a concurrent Migrate of an
// older build cannot slip its version in between (see doc.go, "Layout
// versions": older processes must still be stopped first).
func (b *Backend) Migrate(ctx context.Context) error {
	if err := b.check(); err != nil {
		return err
	}
	if err := loadScripts(ctx, b.rdb); err != nil {
		return err
	}
	args := append([]any{schemaVersion}, upgradable...)
	res, err := scriptMigrate.Run(ctx, b.rdb, []string{b.k.schema()}, args...).Slice()
	if err != nil {
		return fmt.Errorf("record layout version: %w", err)
	}
	if len(res) != 2 {
		return fmt.Errorf("record layout version: script returned %d values", len(res))
	}
	if recorded, _ := res[0].(int64); recorded != 1 {
		return fmt.Errorf("redis backend: prefix %q holds layout version %v, this build knows %s", b.k.prefix, res[1], schemaVersion)
	}
	return nil
}

// Close implements backend.Lifecycle. Idempotent.
func (b *Backend) Close() error {
	var err error
	b.closeOnce.Do(func() {
		close(b.closed)
		if b.ownClient {
			err = b.rdb.Close()
		}
	})
	return err
}

func (b *Backend) check() error {
	select {
	case <-b.closed:
		return backend.ErrClosed
	default:
		return nil
	}
}

// Time encodings. Job hashes keep nanoseconds (exact round trips); sorted-set
// scores use microseconds, which a double holds exactly until year 2255; the
// ready set's members start with the run_at in 17 zero-padded digits of
// microseconds so members of one priority sort by run_at, then ID.

func nsStr(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixNano(), 10)
}

func usStr(t time.Time) string { return strconv.FormatInt(max(t.UnixMicro(), 0), 10) }

// rsStr renders t as 17 zero-padded digits of µs (by hand: fmt's padding
// cost more than the rest of an enqueue's argument building).
func rsStr(t time.Time) string {
	var buf [24]byte
	digits := strconv.AppendInt(buf[:0], max(t.UnixMicro(), 0), 10)
	if len(digits) >= 17 {
		return string(digits)
	}
	var out [17]byte
	pad := 17 - len(digits)
	for i := range pad {
		out[i] = '0'
	}
	copy(out[pad:], digits)
	return string(out[:])
}

func parseNs(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func parseRs(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMicro(n).UTC()
}

// now returns t, or the wall clock when a caller left Now unset.
func now(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

// isNoScript reports whether err says the server lost a script (restart,
// SCRIPT FLUSH).
func isNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}

// pipeline runs build's commands in one round trip. When the server lost its
// scripts, it loads them and runs the commands again: a NOSCRIPT reply means
// the script did not run, and every other command the backend pipelines
// with a script is idempotent.
func (b *Backend) pipeline(ctx context.Context, build func(p goredis.Pipeliner)) ([]goredis.Cmder, error) {
	for attempt := 0; ; attempt++ {
		p := b.rdb.Pipeline()
		build(p)
		cmds, err := p.Exec(ctx)
		if err != nil && attempt == 0 && anyNoScript(cmds) {
			if lerr := loadScripts(ctx, b.rdb); lerr != nil {
				return cmds, lerr
			}
			continue
		}
		if err != nil {
			return cmds, fmt.Errorf("redis: %w", err)
		}
		return cmds, nil
	}
}

func anyNoScript(cmds []goredis.Cmder) bool {
	for _, c := range cmds {
		if isNoScript(c.Err()) {
			return true
		}
	}
	return false
}

// queueNames are the key names of one queue, built once per process.
type queueNames struct {
	keys                                 []string
	jobPrefix, uniquePrefix, wakeChannel string
	// enqueueCall is the start of the queue's enqueue call, boxed once:
	// EVALSHA, the script's SHA, the key count, the keys and ARGV 1-3
	// (see evalSha).
	enqueueCall []any
}

func (b *Backend) names(queue string) *queueNames {
	if n, ok := b.nameCache.Load(queue); ok {
		return n.(*queueNames)
	}
	n := &queueNames{keys: b.k.queueKeys(queue), jobPrefix: b.k.jobPrefix(queue),
		uniquePrefix: b.k.uniquePrefix(queue), wakeChannel: b.k.wakeChannel(queue)}
	n.enqueueCall = append(make([]any, 0, 3+len(n.keys)+3), "evalsha", scriptEnqueue.Hash(), len(n.keys))
	for _, k := range n.keys {
		n.enqueueCall = append(n.enqueueCall, k)
	}
	n.enqueueCall = append(n.enqueueCall, n.jobPrefix, n.uniquePrefix, n.wakeChannel)
	b.nameCache.Store(queue, n)
	return n
}

// queueKeys returns the KEYS of the per-queue job scripts (cached).
func (b *Backend) queueKeys(queue string) []string { return b.names(queue).keys }

// commonArgs are ARGV 1-3 of every per-queue job script.
func (b *Backend) commonArgs(queue string, extra int) []any {
	n := b.names(queue)
	args := make([]any, 0, 3+extra)
	return append(args, n.jobPrefix, n.uniquePrefix, n.wakeChannel)
}

// run runs one per-queue script (EVALSHA, falling back to EVAL).
func (b *Backend) run(ctx context.Context, s *goredis.Script, queue string, args []any) *goredis.Cmd {
	return s.Run(ctx, b.rdb, b.queueKeys(queue), args...)
}

// allQueues lists the queue names of the store.
func (b *Backend) allQueues(ctx context.Context) ([]string, error) {
	qs, err := b.rdb.SMembers(ctx, b.k.queues()).Result()
	if err != nil {
		return nil, fmt.Errorf("list queues: %w", err)
	}
	return qs, nil
}

// idCacheSize bounds idCache; it is emptied when full (a cheap bound; misses
// only cost the index lookup).
const idCacheSize = 1 << 16

// idCache maps job IDs to queues.
type idCache struct {
	mu sync.RWMutex
	m  map[string]string
}

func (c *idCache) get(id string) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	q, ok := c.m[id]
	return q, ok
}

func (c *idCache) put(id, queue string) {
	c.putAll(queue, []string{id})
}

// putAll records the queue of many jobs under one lock (an enqueue's
// jobs: a lock per job showed in single-enqueue profiles).
func (c *idCache) putAll(queue string, ids []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		if c.m == nil || len(c.m) >= idCacheSize {
			c.m = make(map[string]string, 1024)
		}
		c.m[id] = queue
	}
}

// lookupQueue finds the queue of a job ID: from the process cache, else by
// asking every queue whether it holds the job (one pipelined round trip).
func (b *Backend) lookupQueue(ctx context.Context, id string) (string, error) {
	if id == "" || strings.ContainsAny(id, "{}") {
		return "", fmt.Errorf("job %q: %w", id, backend.ErrNotFound)
	}
	if q, ok := b.idQueue.get(id); ok {
		return q, nil
	}
	queues, err := b.allQueues(ctx)
	if err != nil {
		return "", fmt.Errorf("look up job %s: %w", id, err)
	}
	if len(queues) == 0 {
		return "", fmt.Errorf("job %s: %w", id, backend.ErrNotFound)
	}
	cmds := make([]*goredis.IntCmd, len(queues))
	if _, err := b.pipeline(ctx, func(pipe goredis.Pipeliner) {
		for i, q := range queues {
			cmds[i] = pipe.Exists(ctx, b.k.job(q, id))
		}
	}); err != nil {
		return "", fmt.Errorf("look up job %s: %w", id, err)
	}
	for i, c := range cmds {
		if c.Val() == 1 {
			b.idQueue.put(id, queues[i])
			return queues[i], nil
		}
	}
	return "", fmt.Errorf("job %s: %w", id, backend.ErrNotFound)
}

// slogPrintf adapts go-redis's internal logger interface to slog.
type slogPrintf struct{}

// Printf logs one go-redis message at debug level.
func (slogPrintf) Printf(ctx context.Context, format string, v ...any) {
	slog.DebugContext(ctx, "redis client: "+fmt.Sprintf(format, v...))
}
