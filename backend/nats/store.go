package nats

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"conveyor/backend"

	"github.com/nats-io/nats.go/jetstream"
)

// This file is the storage layer every operation goes through: pipelined
// writes (many async publishes awaited together, never one round trip per
// job), concurrent reads, and the compare-and-set transition loop.

// expectNone marks a write without a revision condition.
const expectNone = ^uint64(0)

// write is one raw publish to a stream subject, usually a KV key.
type write struct {
	subject string
	data    []byte
	// expect is the revision the subject must have (0: must not exist);
	// expectNone writes unconditionally. This header is what makes a KV
	// write a compare-and-set.
	expect uint64
	// del writes a KV delete marker instead of a value.
	del bool
}

// writeResult is the outcome of one write.
type writeResult struct {
	rev uint64
	err error
}

// errCASConflict reports that a conditional write found another revision.
var errCASConflict = errors.New("nats: revision conflict")

// isConflict reports whether err is JetStream's "wrong last sequence".
func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
	}
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}

// writeAll publishes every write asynchronously, then waits for all acks.
// A conflicting condition yields errCASConflict in that write's result;
// any other failure is returned in the result too, so callers decide.
func (b *Backend) writeAll(ctx context.Context, ws []write) []writeResult {
	res, _, _ := b.writeChained(ctx, ws, nil)
	return res
}

// writeChained is writeAll where the result of write i may call for a
// follow-up write (then returns it and true), published as soon as that
// result is in rather than after every ack of ws, so the follow-ups
// overlap the rest of the first round. then is called in index order,
// once per write. It returns the results of ws, the index in ws each
// follow-up answered, and the follow-ups' results. Acknowledgements may
// come in any order (pubasync.go); the call waits until every write was
// answered, ctx ends, the backend closes, or publishTimeout passes with
// no acknowledgement coming in.
func (b *Backend) writeChained(ctx context.Context, ws []write, then func(i int, r writeResult) (write, bool)) (res []writeResult, from []int, next []writeResult) {
	res = make([]writeResult, len(ws))
	if len(ws) == 0 {
		return res, nil, nil
	}
	room := len(ws)
	if then != nil {
		room *= 2
	}
	p := b.newPubBatch(room)
	defer p.close()
	have := make([]bool, len(ws))
	waiting := 0
	for i, w := range ws {
		if err := p.send(i, w); err != nil {
			res[i].err, have[i] = err, true
		} else {
			waiting++
		}
	}
	var (
		nexts   []write
		nextGot []bool
		cursor  int
		stopped error // set when the call stops waiting
	)
	// advance calls then for every result, in order, that is in.
	advance := func() {
		for ; cursor < len(ws) && have[cursor]; cursor++ {
			if then == nil {
				continue
			}
			w, ok := then(cursor, res[cursor])
			if !ok {
				continue
			}
			k := len(nexts)
			from, nexts, next, nextGot = append(from, cursor), append(nexts, w), append(next, writeResult{}), append(nextGot, true)
			if stopped != nil {
				next[k].err = stopped
			} else if err := p.send(len(ws)+k, w); err != nil {
				next[k].err = err
			} else {
				nextGot[k] = false
				waiting++
			}
		}
	}
	advance()
	timeout := time.NewTimer(publishTimeout)
	defer timeout.Stop()
	for waiting > 0 && stopped == nil {
		select {
		case a := <-p.ch:
			waiting--
			r := &next
			i := a.i - len(ws)
			subject := ""
			if a.i < len(ws) {
				r, i, have[a.i], subject = &res, a.i, true, ws[a.i].subject
			} else {
				nextGot[i], subject = true, nexts[i].subject
			}
			if a.r.err != nil && !errors.Is(a.r.err, errCASConflict) {
				a.r.err = b.wrap("publish "+subject, a.r.err)
			}
			(*r)[i] = a.r
			advance()
			timeout.Reset(publishTimeout)
		case <-timeout.C:
			stopped = b.wrap("publish", jetstream.ErrAsyncPublishTimeout)
		case <-ctx.Done():
			stopped = ctx.Err()
		case <-b.done:
			stopped = b.wrap("publish", backend.ErrClosed)
		}
	}
	if stopped != nil {
		for i := range ws {
			if !have[i] {
				res[i], have[i] = writeResult{err: stopped}, true
			}
		}
		for k := range next {
			if !nextGot[k] {
				next[k] = writeResult{err: stopped}
			}
		}
		advance()
	}
	return res, from, next
}

// publishTimeout is how long a call waits for the next acknowledgement of
// its writes before it gives up on the rest.
const publishTimeout = 10 * time.Second

// firstErr returns the first error of results that is not a conflict.
func firstErr(rs []writeResult) error {
	for _, r := range rs {
		if r.err != nil && !errors.Is(r.err, errCASConflict) {
			return r.err
		}
	}
	return nil
}

// readParallelism bounds concurrent KV reads of one call.
const readParallelism = 256

// storedJob is a job record as stored: the port's Job plus the ready
// generation, which counts the record's transitions to queued. Each ready
// message carries the generation it was published for, so a claim can tell
// a stale message (record generation >= message's, record not queued) from
// an early one (record generation lower: its write is still in flight).
type storedJob struct {
	backend.Job
	Gen int64 `json:"ready_gen,omitempty"`
}

// entry is one read job record.
type entry struct {
	job *backend.Job // nil: not found
	gen int64
	rev uint64
	err error
	// deletedAt is when the record was deleted, when the read saw its
	// delete marker (zero: never written, compacted, or not known).
	deletedAt time.Time
}

// getJobs reads many job records concurrently.
func (b *Backend) getJobs(ctx context.Context, ids []string) []entry {
	out := make([]entry, len(ids))
	if len(ids) == 1 {
		out[0] = b.getJob(ctx, ids[0])
		return out
	}
	if direct, ok := b.getJobsDirect(ctx, ids); ok {
		return direct
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, readParallelism)
	for i, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i] = b.getJob(ctx, id)
		})
	}
	wg.Wait()
	return out
}

// getJob reads one job record.
func (b *Backend) getJob(ctx context.Context, id string) entry {
	e, err := b.jobs.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
		return entry{}
	}
	if err != nil {
		return entry{err: b.wrap("get job "+id, err)}
	}
	var sj storedJob
	if err := decodeJob(e.Value(), &sj); err != nil {
		return entry{err: fmt.Errorf("nats: decode job %s: %w", id, err)}
	}
	return entry{job: &sj.Job, gen: sj.Gen, rev: e.Revision()}
}

// cached is a record this process wrote last, kept while the job runs here.
type cached struct {
	job *backend.Job
	gen int64
	rev uint64
}

// step is one job's part in a transition.
type step struct {
	id string
	// apply changes j (a private copy of the current record) or returns an
	// error: errSkip leaves the job unchanged, others are reported.
	apply func(j *backend.Job) error

	// Results.
	old    *backend.Job // record before the change (nil: not found)
	oldGen int64        // its ready generation
	// deletedAt: the record was deleted at this time (old is nil).
	deletedAt time.Time
	job       *backend.Job // record after the change
	gen       int64        // its ready generation
	rev       uint64       // revision after the change
	err       error        // errSkip, errMissing, or what apply returned
	done      bool
	// fromCache: old came from the lease cache or seed, which may be
	// stale, so a refusal by apply is confirmed against the store before
	// it counts.
	fromCache bool
	// runKey is the running-index key that lists the job, when this
	// step makes it running.
	runKey string
	// seed, when set, is the record to start from instead of a read (the
	// one a ready message carried, see carry.go); a stale seed costs a
	// failed compare-and-set and a re-read.
	seed *cached
}

// errSkip is returned by apply to leave a job unchanged.
var errSkip = errors.New("skip")

// maxRounds bounds the compare-and-set retries of one transition.
const maxRounds = 8

// transition applies each step's change to its record with compare-and-set,
// retrying steps whose record changed under them. Side effects are ordered
// for crash safety: the index entries and ready messages a new state needs
// are published BEFORE the record (a crash leaves a harmless stale index
// entry or message, never a record no index points at), and the entries the
// old state needed are removed after.
func (b *Backend) transition(ctx context.Context, steps []*step) error {
	pending := steps
	for round := 0; len(pending) > 0; round++ {
		if round == maxRounds {
			for _, s := range pending {
				s.err = fmt.Errorf("nats: job %s: %w (record kept changing)", s.id, errCASConflict)
			}
			break
		}
		// Read: the lease cache first (first round only), else the store.
		var toRead []*step
		for _, s := range pending {
			s.old, s.job, s.fromCache = nil, nil, false
			if round == 0 && s.seed != nil {
				s.old, s.oldGen, s.rev, s.fromCache = s.seed.job, s.seed.gen, s.seed.rev, true
				continue
			}
			if round == 0 {
				if c, ok := b.leases.Load(s.id); ok {
					cc := c.(*cached)
					s.old, s.oldGen, s.rev, s.fromCache = cc.job, cc.gen, cc.rev, true
					continue
				}
			}
			toRead = append(toRead, s)
		}
		if len(toRead) > 0 {
			ids := make([]string, len(toRead))
			for i, s := range toRead {
				ids[i] = s.id
			}
			for i, e := range b.getJobs(ctx, ids) {
				if e.err != nil {
					return e.err
				}
				toRead[i].old, toRead[i].oldGen, toRead[i].rev, toRead[i].deletedAt = e.job, e.gen, e.rev, e.deletedAt
			}
		}
		// Apply.
		var act, recheck []*step
		for _, s := range pending {
			if s.old == nil {
				s.err, s.done = errMissing, true
				continue
			}
			j := s.old.Clone()
			if err := s.apply(j); err != nil {
				if s.fromCache {
					b.leases.Delete(s.id)
					recheck = append(recheck, s)
					continue
				}
				s.err, s.done = err, true
				continue
			}
			s.job, s.gen = j, s.oldGen
			if j.State == backend.StateQueued && s.old.State != backend.StateQueued {
				s.gen++
			}
			act = append(act, s)
		}
		if len(act) == 0 {
			pending = recheck
			continue
		}
		// What the new states need in order to be found, then the records,
		// each conditional on the revision read, in one pipelined round:
		// publishes leave in order on one connection, so a client crash
		// cannot send a record without the index entries before it.
		pre, runKeys := b.preWrites(act)
		ws := make([]write, len(pre), len(pre)+len(act))
		copy(ws, pre)
		for _, s := range act {
			data, err := encodeJob(&storedJob{Job: *s.job, Gen: s.gen})
			if err != nil {
				return fmt.Errorf("nats: encode job %s: %w", s.id, err)
			}
			ws = append(ws, write{subject: kvSubject(b.names.jobsBucket(), s.id), data: data, expect: s.rev})
		}
		all := b.writeAll(ctx, ws)
		if err := firstErr(all[:len(pre)]); err != nil {
			return err
		}
		rs := all[len(pre):]
		pending = recheck
		var ok []*step
		for i, s := range act {
			switch {
			case rs[i].err == nil:
				s.rev, s.done, s.err = rs[i].rev, true, nil
				ok = append(ok, s)
			case errors.Is(rs[i].err, errCASConflict):
				b.leases.Delete(s.id)
				pending = append(pending, s)
			default:
				return rs[i].err
			}
		}
		b.afterWrites(ctx, ok)
		b.trackClaimed(ctx, runKeys, ok)
	}
	return nil
}

// errMissing marks a step whose job does not exist.
var errMissing = errors.New("job not found")

// preWrites lists what must exist before records move to their new states:
// a ready message for queued, a scheduled-index key for scheduled and
// retrying, a running-index key for running.
func (b *Backend) preWrites(act []*step) ([]write, []string) {
	var ws []write
	var running []string
	var runSteps []*step
	for _, s := range act {
		s.runKey = ""
		n, o := s.job, s.old
		switch n.State {
		case backend.StateQueued:
			if o.State != backend.StateQueued {
				ws = append(ws, write{subject: b.names.readySubject(n.Queue, n.Priority), data: readyPayload(n.RunAt, n.ID, s.gen), expect: expectNone})
			}
		case backend.StateScheduled, backend.StateRetrying:
			if o.State != n.State || !o.RunAt.Equal(n.RunAt) {
				ws = append(ws, write{subject: kvSubject(b.names.schedBucket(), schedKey(n.RunAt, n.ID)), expect: expectNone})
			}
		case backend.StateRunning:
			if o.State != backend.StateRunning {
				running = append(running, n.ID)
				runSteps = append(runSteps, s)
			}
		}
	}
	rws, keys := b.runningWrites(running)
	for i, s := range runSteps {
		s.runKey = keys[i/runningBatch]
	}
	return append(ws, rws...), keys
}

// runningBatch bounds the job IDs one running-index key lists.
const runningBatch = 1000

// runningWrites lists jobs in the running index: one key per batch of up
// to runningBatch IDs (a fresh random key, value: the IDs, one per line),
// not one key per job, so a claim of 1000 jobs costs one index write and a
// finish none. Keys are never rewritten, so a sweeper deleting an old key
// cannot race a claim that indexes the same job again. JobRescue deletes a
// key once none of its jobs is running, and this process deletes the keys
// it wrote as soon as their leases ended (runindex.go). It returns the
// writes and their keys, one per runningBatch IDs.
func (b *Backend) runningWrites(ids []string) (ws []write, keys []string) {
	for chunk := range slices.Chunk(ids, runningBatch) {
		key := rand.Text()
		keys = append(keys, key)
		ws = append(ws, write{
			subject: kvSubject(b.names.runningBucket(), key),
			data:    []byte(strings.Join(chunk, "\n")),
			expect:  expectNone,
		})
	}
	return ws, keys
}

// afterWrites updates the lease cache, removes scheduled-index entries the
// old states needed (best effort: stale entries are ignored and cleaned by
// the sweepers; running-index keys are swept by JobRescue) and wakes watchers of queues that got ready jobs.
func (b *Backend) afterWrites(ctx context.Context, ok []*step) {
	var ws []write
	woken := map[string]bool{}
	for _, s := range ok {
		n, o := s.job, s.old
		if n.State == backend.StateRunning {
			b.leases.Store(s.id, &cached{job: n, gen: s.gen, rev: s.rev})
		} else {
			b.leases.Delete(s.id)
		}
		if (o.State == backend.StateScheduled || o.State == backend.StateRetrying) &&
			(n.State != o.State || !o.RunAt.Equal(n.RunAt)) {
			ws = append(ws, write{subject: kvSubject(b.names.schedBucket(), schedKey(o.RunAt, o.ID)), del: true, expect: expectNone})
		}
		if n.State == backend.StateQueued && o.State != backend.StateQueued && !woken[n.Queue] {
			woken[n.Queue] = true
		}
	}
	if len(ws) > 0 {
		b.writeAll(ctx, ws)
	}
	for q := range woken {
		b.wake(q)
	}
}
