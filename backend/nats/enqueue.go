package nats

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"conveyor/backend"

	"github.com/nats-io/nats.go/jetstream"
)

// JobEnqueue stores jobs. Jobs without a unique key go through two
// pipelined rounds for the whole batch: ready messages (or scheduled-index
// keys) first, then the records, created with "must not exist". Jobs with a
// unique key first take the key (create-if-absent in the uniq bucket), one
// key at a time in insert order, distinct keys concurrently.
//
// An insert whose ID is already stored is reported as a duplicate of that
// job: a producer that retries an enqueue after a timeout gets one job.
func (b *Backend) JobEnqueue(ctx context.Context, p *backend.JobEnqueueParams) (*backend.JobEnqueueResult, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	jobs := make([]*backend.Job, len(p.Jobs))
	for i, in := range p.Jobs {
		if in == nil || in.ID == "" || in.Queue == "" || in.Kind == "" {
			return nil, fmt.Errorf("nats: enqueue: job %d needs an ID, a kind and a queue", i)
		}
		if !validKeyToken(in.ID) {
			return nil, fmt.Errorf("nats: enqueue: job ID %q: want letters, digits, '-' or '_'", in.ID)
		}
		jobs[i] = newJob(in, p.Now)
	}
	if err := b.ensureQueues(ctx, jobs); err != nil {
		return nil, err
	}
	res := &backend.JobEnqueueResult{Jobs: make([]backend.EnqueueOutcome, len(jobs))}
	var plain []int
	groups := map[string][]int{}
	var keys []string
	for i, j := range jobs {
		if j.UniqueKey == "" {
			plain = append(plain, i)
			continue
		}
		if _, ok := groups[j.UniqueKey]; !ok {
			keys = append(keys, j.UniqueKey)
		}
		groups[j.UniqueKey] = append(groups[j.UniqueKey], i)
	}
	if len(plain) > 0 {
		batch := make([]*backend.Job, len(plain))
		for k, i := range plain {
			batch[k] = jobs[i]
		}
		outs, err := b.store(ctx, batch)
		if err != nil {
			return nil, err
		}
		for k, i := range plain {
			res.Jobs[i] = outs[k]
		}
	}
	if len(keys) > 0 {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		sem := make(chan struct{}, 32)
		for _, key := range keys {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				for _, i := range groups[key] {
					out, err := b.storeUnique(ctx, jobs[i])
					if err != nil {
						mu.Lock()
						firstErr = cmpErr(firstErr, err)
						mu.Unlock()
						return
					}
					res.Jobs[i] = out
				}
			})
		}
		wg.Wait()
		if firstErr != nil {
			return nil, firstErr
		}
	}
	woken := map[string]bool{}
	for i, o := range res.Jobs {
		if !o.Duplicate && o.State == backend.StateQueued && !woken[jobs[i].Queue] {
			woken[jobs[i].Queue] = true
			b.wake(jobs[i].Queue)
		}
	}
	return res, nil
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// validKeyToken reports whether s can be a KV key token.
func validKeyToken(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return s != ""
}

// newJob builds the record of an insert at now.
func newJob(in *backend.JobInsert, now time.Time) *backend.Job {
	j := &backend.Job{
		ID:           in.ID,
		Kind:         in.Kind,
		Queue:        in.Queue,
		Args:         slices.Clone(in.Args),
		Priority:     in.Priority,
		MaxAttempts:  in.MaxAttempts,
		Timeout:      in.Timeout,
		RunAt:        in.RunAt,
		UniqueKey:    in.UniqueKey,
		UniqueStates: slices.Clone(in.UniqueStates),
		Tags:         slices.Clone(in.Tags),
		Meta:         slices.Clone(in.Meta),
		EnqueuedAt:   now,
		State:        backend.StateQueued,
	}
	if j.RunAt.IsZero() {
		j.RunAt = now
	}
	if j.RunAt.After(now) {
		j.State = backend.StateScheduled
	}
	return j
}

// schedWrite is the scheduled-index key of a new job that waits for its
// run_at.
func (b *Backend) schedWrite(j *backend.Job) write {
	return write{subject: kvSubject(b.names.schedBucket(), schedKey(j.RunAt, j.ID)), expect: expectNone}
}

// store writes new jobs: the scheduled-index keys of scheduled jobs, then
// every record with create-if-absent, and the ready message of each queued
// job as soon as its record's write is acknowledged, carrying the record
// and its revision (carry.go) so that its claim needs no read. All of it
// is pipelined: the messages follow the acks while later records are
// still in flight. A record that already exists is reported as a
// duplicate of itself; if it is queued its ready message is published
// again, which heals a job whose first enqueue stopped between its record
// and its message and is otherwise harmless (a claim drops a message whose
// record it cannot move). A ready message that cannot be published fails
// the enqueue, and its record is deleted again (best effort) so the failed
// enqueue leaves no job that nothing announces. A key whose last entry is
// a delete marker (a deleted or undone job) is created again
// (resolveConflict). Once its writes are sent the enqueue finishes them
// even if ctx ends, within enqueueFinish.
func (b *Backend) store(ctx context.Context, jobs []*backend.Job) ([]backend.EnqueueOutcome, error) {
	if err := ctx.Err(); err != nil {
		return nil, err // nothing sent yet: nothing to finish
	}
	recs := make([][]byte, len(jobs))
	var ws []write
	for _, j := range jobs {
		if j.State != backend.StateQueued {
			ws = append(ws, b.schedWrite(j))
		}
	}
	pre := len(ws)
	for i, j := range jobs {
		sj := storedJob{Job: *j}
		if j.State == backend.StateQueued {
			sj.Gen = 1 // its first transition to queued
		}
		data, err := encodeJob(&sj)
		if err != nil {
			return nil, fmt.Errorf("nats: encode job %s: %w", j.ID, err)
		}
		recs[i] = data
		ws = append(ws, write{subject: kvSubject(b.names.jobsBucket(), j.ID), data: data, expect: 0})
	}
	announce := func(i int, r writeResult) (write, bool) {
		k := i - pre
		if k < 0 || r.err != nil || jobs[k].State != backend.StateQueued {
			return write{}, false
		}
		return b.carriedReady(jobs[k], r.rev, recs[k]), true
	}
	// Once records are sent the enqueue finishes whatever the caller's ctx
	// does: giving up between a record's ack and its ready message would
	// leave a queued job that no claim finds.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), enqueueFinish)
	defer cancel()
	all, from, ready := b.writeChained(ctx, ws, announce)
	if err := firstErr(all[:pre]); err != nil {
		return nil, fmt.Errorf("nats: enqueue: %w", err)
	}
	if err := b.undoUnannounced(ctx, ws, all, from, ready); err != nil {
		return nil, err
	}
	rs := all[pre:]
	outs := make([]backend.EnqueueOutcome, len(jobs))
	var heal []write
	for i, j := range jobs {
		switch {
		case rs[i].err == nil:
			outs[i] = backend.EnqueueOutcome{ID: j.ID, State: j.State}
		case errors.Is(rs[i].err, errCASConflict):
			out, hw, err := b.resolveConflict(ctx, j, recs[i])
			if err != nil {
				return nil, err
			}
			outs[i], heal = out, append(heal, hw...)
		default:
			return nil, fmt.Errorf("nats: enqueue: %w", rs[i].err)
		}
	}
	if err := firstErr(b.writeAll(ctx, heal)); err != nil {
		return nil, fmt.Errorf("nats: enqueue: %w", err)
	}
	return outs, nil
}

// enqueueFinish bounds how long an enqueue whose caller's ctx ended keeps
// waiting for the acks of what it already sent.
const enqueueFinish = 10 * time.Second

// undoUnannounced deletes the records whose ready message failed
// (conditional on the revision the enqueue created) and returns the first
// failure: the enqueue then fails without leaving a queued job that no
// message announces. The records whose messages went out stay: they are
// jobs now, as if enqueued one by one.
func (b *Backend) undoUnannounced(ctx context.Context, ws []write, all []writeResult, from []int, ready []writeResult) error {
	err := firstErr(ready)
	if err == nil {
		return nil
	}
	var undo []write
	for k, r := range ready {
		if r.err != nil {
			i := from[k]
			undo = append(undo, write{subject: ws[i].subject, del: true, expect: all[i].rev})
		}
	}
	b.writeAll(context.WithoutCancel(ctx), undo)
	return fmt.Errorf("nats: enqueue: %w", err)
}

// Unique-key takeover timing: a key whose holder record is missing may
// belong to an enqueue in flight (key taken, record not yet written). Such
// an enqueue finishes its writes within enqueueFinish once it sent them, so
// the key is taken over only when its entry is older than
// holderTakeover: a takeover sooner could hand the key to a second job
// while the first one's record is still on its way (a NATS stall of more
// than a moment made two jobs hold one key). A failed enqueue gives its key
// back at once (storeUnique), so only a crashed holder makes the next
// enqueue of its key wait that long.
const (
	holderTakeover = enqueueFinish + 5*time.Second
	holderPoll     = 25 * time.Millisecond
)

// storeUnique stores one job with a unique key. The uniq bucket maps the
// key's hash to the ID of the job that took it last; whether that job still
// holds it is decided by its record (Job.HoldsUniqueKey), so state changes
// need no bookkeeping. Taking the key is a KV create, or an update
// conditional on the revision that named a non-holder: of N concurrent
// enqueuers exactly one wins, the others read the winner as holder.
func (b *Backend) storeUnique(ctx context.Context, j *backend.Job) (backend.EnqueueOutcome, error) {
	ukey := uniqKey(j.UniqueKey)
	replayChecked := false
	var taken uint64 // the revision of the uniq entry this enqueue wrote
	for {
		if err := ctx.Err(); err != nil {
			return backend.EnqueueOutcome{}, err
		}
		rev, err := b.uniq.Create(ctx, ukey, []byte(j.ID))
		if err == nil {
			taken = rev
			break
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return backend.EnqueueOutcome{}, b.wrap("take unique key", err)
		}
		e, err := b.uniq.Get(ctx, ukey)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // deleted meanwhile: create again
		}
		if err != nil {
			return backend.EnqueueOutcome{}, b.wrap("read unique key", err)
		}
		holderID := string(e.Value())
		if holderID != j.ID && !replayChecked {
			// A replay first: an ID enqueued again answers with its own job,
			// even if another job has taken its unique key since. (Checked
			// only here: when the key is free, store reports a stored ID.)
			replayChecked = true
			if own := b.getJob(ctx, j.ID); own.err != nil {
				return backend.EnqueueOutcome{}, own.err
			} else if own.job != nil {
				if err := firstErr(b.writeAll(ctx, b.healReady(own))); err != nil { // as store does
					return backend.EnqueueOutcome{}, fmt.Errorf("nats: enqueue: %w", err)
				}
				return backend.EnqueueOutcome{ID: j.ID, Duplicate: true, State: own.job.State}, nil
			}
		}
		h := b.getJob(ctx, holderID)
		if h.err != nil {
			return backend.EnqueueOutcome{}, h.err
		}
		if holderID == j.ID {
			if h.job != nil {
				// A retry of our own insert: heal a lost ready message, as store does.
				if err := firstErr(b.writeAll(ctx, b.healReady(h))); err != nil {
					return backend.EnqueueOutcome{}, fmt.Errorf("nats: enqueue: %w", err)
				}
				return backend.EnqueueOutcome{ID: j.ID, Duplicate: true, State: h.job.State}, nil
			}
			break // our own earlier attempt took the key but stored nothing
		}
		if h.job != nil && h.job.UniqueKey == j.UniqueKey && h.job.HoldsUniqueKey() {
			return backend.EnqueueOutcome{ID: holderID, Duplicate: true, State: h.job.State}, nil
		}
		if h.job == nil && time.Since(e.Created()) < b.holderTakeover {
			// Maybe an enqueue in flight; give it time to write its record.
			select {
			case <-time.After(holderPoll):
			case <-ctx.Done():
				return backend.EnqueueOutcome{}, fmt.Errorf("nats: enqueue: unique key %q is being taken by job %s: %w", j.UniqueKey, holderID, ctx.Err())
			}
			continue
		}
		rev, err = b.uniq.Update(ctx, ukey, []byte(j.ID), e.Revision())
		if err == nil {
			taken = rev
			break
		} else if !isConflict(err) {
			return backend.EnqueueOutcome{}, b.wrap("take over unique key", err)
		}
	}
	outs, err := b.store(ctx, []*backend.Job{j})
	if err != nil {
		if taken != 0 {
			// Give the key back (if it still names this job) so the next
			// enqueue with it need not wait out holderTakeover.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			_ = b.uniq.Delete(rctx, ukey, jetstream.LastRevision(taken))
			cancel()
		}
		return backend.EnqueueOutcome{}, err
	}
	return outs[0], nil
}

// releaseUnique deletes the uniq entry of deleted jobs that still name
// them, so the next enqueue with the key need not wait out holderTakeover.
// Best effort.
func (b *Backend) releaseUnique(ctx context.Context, jobs []*backend.Job) {
	for _, j := range jobs {
		if j.UniqueKey == "" {
			continue
		}
		ukey := uniqKey(j.UniqueKey)
		e, err := b.uniq.Get(ctx, ukey)
		if err != nil || string(e.Value()) != j.ID {
			continue
		}
		_ = b.uniq.Delete(ctx, ukey, jetstream.LastRevision(e.Revision()))
	}
}
