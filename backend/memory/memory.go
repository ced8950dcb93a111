package memory

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"sync"

	"conveyor/backend"
)

func init() {
	backend.Register(Open, "memory")
}

// Config configures a memory backend. The zero value is valid and is the
// only configuration today; the struct exists so options can be added
// without breaking New's signature.
type Config struct{}

// Backend is the in-memory store. It is safe for concurrent use.
type Backend struct {
	mu     sync.Mutex
	closed bool

	jobs    jobIndex
	queues  map[string]*queue
	running runList
	// unique maps a unique key to every stored job carrying it; whether one
	// of them holds the key is decided by Job.HoldsUniqueKey at enqueue time,
	// so state changes need no bookkeeping here.
	unique  map[string][]*entry
	records map[string]map[string]*backend.Record

	watchers  map[*watcher]struct{}
	listeners []chan []byte // Listen calls (broadcast.go)

	// rng makes lease tokens: ChaCha8 seeded from crypto/rand is a CSPRNG
	// that costs nanoseconds per token, where crypto/rand per claimed job
	// would dominate the claim path.
	rng *mrand.ChaCha8
}

var (
	_ backend.Backend = (*Backend)(nil)
	_ backend.Waker   = (*Backend)(nil)
)

// entry is a stored job plus its place in the queue's heaps.
type entry struct {
	backend.Job
	q *queue
	// gen identifies the entry's live heap item: q.ready's while queued,
	// q.waiting's while scheduled or retrying (see jobHeap).
	gen   uint32
	idKey idKey
	// runPrev and runNext link the entry into Backend.running while running.
	runPrev, runNext *entry
}

// queue holds one queue's heaps and per-state counts.
type queue struct {
	name    string
	paused  bool
	ready   jobHeap
	waiting jobHeap
	counts  [numStates]int64
}

const numStates = 7

func stateIndex(s backend.JobState) int {
	switch s {
	case backend.StateScheduled:
		return 0
	case backend.StateQueued:
		return 1
	case backend.StateRunning:
		return 2
	case backend.StateRetrying:
		return 3
	case backend.StateCompleted:
		return 4
	case backend.StateFailed:
		return 5
	default:
		return 6
	}
}

// New returns an empty store.
func New(_ context.Context, _ Config) (*Backend, error) {
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("memory: seeding lease tokens: %w", err)
	}
	return &Backend{
		jobs:     newJobIndex(),
		queues:   make(map[string]*queue),
		unique:   make(map[string][]*entry),
		records:  make(map[string]map[string]*backend.Record),
		watchers: make(map[*watcher]struct{}),
		rng:      mrand.NewChaCha8(seed),
	}, nil
}

// Open opens a new, empty store for a "memory:" URL. Nothing follows the
// scheme: two Opens never share jobs.
func Open(ctx context.Context, rawURL string) (backend.Backend, error) {
	scheme, rest, _ := strings.Cut(rawURL, ":")
	if !strings.EqualFold(scheme, "memory") {
		return nil, fmt.Errorf("memory: URL %q: scheme must be memory", rawURL)
	}
	if rest = strings.TrimPrefix(rest, "//"); rest != "" {
		return nil, fmt.Errorf("memory: URL %q: nothing may follow \"memory:\"", rawURL)
	}
	return New(ctx, Config{})
}

// Capabilities reports what the memory backend offers.
func (b *Backend) Capabilities() backend.Capabilities {
	return backend.Capabilities{
		Name:          "memory",
		TxEnqueue:     false,
		Wake:          true,
		Broadcast:     true,
		NeedsPromoter: false,
		NeedsPruner:   true,
		Durability:    "None: jobs live in process memory and are lost when the process exits.",
	}
}

// Ping reports ErrClosed after Close, nil otherwise.
func (b *Backend) Ping(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.check(ctx)
}

// Migrate does nothing: there is no schema.
func (b *Backend) Migrate(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.check(ctx)
}

// Close closes every watch channel and makes further calls fail with
// ErrClosed. Idempotent.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	for w := range b.watchers {
		b.dropWatcher(w)
	}
	return nil
}

// check returns the error a call must fail with, if any. Callers hold b.mu.
func (b *Backend) check(ctx context.Context) error {
	if b.closed {
		return backend.ErrClosed
	}
	return ctx.Err()
}

// tokenLen is the length of a lease token: 128 random bits in hex.
const tokenLen = 32

// newTokens returns n fresh random lease tokens. They are substrings of one
// string, so a claim of 1000 jobs allocates once for its tokens.
func (b *Backend) newTokens(n int) []string {
	raw := make([]byte, n*tokenLen/2)
	_, _ = b.rng.Read(raw)
	all := hex.EncodeToString(raw)
	out := make([]string, n)
	for i := range out {
		out[i] = all[i*tokenLen : (i+1)*tokenLen]
	}
	return out
}

// queueFor returns the named queue, creating it.
func (b *Backend) queueFor(name string) *queue {
	q := b.queues[name]
	if q == nil {
		q = &queue{
			name:    name,
			ready:   jobHeap{less: readyLess},
			waiting: jobHeap{less: waitingLess},
		}
		b.queues[name] = q
	}
	return q
}

// setState moves e to state s, keeping the queue's counts. It does not touch
// heaps or the running set.
func (e *entry) setState(s backend.JobState) {
	e.q.counts[stateIndex(e.State)]--
	e.q.counts[stateIndex(s)]++
	e.State = s
}

// unlink takes e out of whatever heap or running set its state puts it in.
func (b *Backend) unlink(e *entry) {
	switch e.State {
	case backend.StateQueued:
		e.q.ready.drop(e)
	case backend.StateScheduled, backend.StateRetrying:
		e.q.waiting.drop(e)
	case backend.StateRunning:
		b.running.remove(e)
	}
}

// link puts e, whose state is already set, into the heap its state calls for.
func (b *Backend) link(e *entry) {
	switch e.State {
	case backend.StateQueued:
		e.q.ready.push(e)
	case backend.StateScheduled, backend.StateRetrying:
		e.q.waiting.push(e)
	case backend.StateRunning:
		b.running.add(e)
	}
}

// remove deletes e from the store entirely.
func (b *Backend) remove(e *entry) {
	b.unlink(e)
	e.q.counts[stateIndex(e.State)]--
	b.jobs.del(e)
	if e.UniqueKey != "" {
		list := b.unique[e.UniqueKey]
		for i, x := range list {
			if x == e {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(b.unique, e.UniqueKey)
		} else {
			b.unique[e.UniqueKey] = list
		}
	}
}

// clearLease empties the lease fields of a job leaving running.
func (e *entry) clearLease() {
	e.LeaseOwner = ""
	e.LeaseToken = ""
	e.LeaseExpiresAt = timeZero
}
