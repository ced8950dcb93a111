package nats

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"conveyor/backend"

	"github.com/nats-io/nats.go/jetstream"
)

// errLost marks an outcome or lease whose token no longer matches.
var errLost = errors.New("lease lost")

// errUnknownOutcome is returned for an outcome the port does not define.
var errUnknownOutcome = errors.New("nats: unknown outcome")

// JobFinish applies fenced outcomes: each record is rewritten only if it is
// still running under the outcome's lease token, with a write conditional
// on the revision that was checked, so a late or stale worker loses.
func (b *Backend) JobFinish(ctx context.Context, p *backend.JobFinishParams) (*backend.JobFinishResult, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	steps := make([]*step, len(p.Jobs))
	converted := make([]bool, len(p.Jobs)) // by the latest apply of step i
	for i, o := range p.Jobs {
		switch o.Outcome {
		case backend.OutcomeCompleted, backend.OutcomeRetry, backend.OutcomeFailed,
			backend.OutcomeCancelled, backend.OutcomeSnoozed:
		default:
			return nil, fmt.Errorf("%w %q for job %s", errUnknownOutcome, o.Outcome, o.ID)
		}
		steps[i] = &step{id: o.ID, apply: func(j *backend.Job) error {
			if j.State != backend.StateRunning || o.LeaseToken == "" || j.LeaseToken != o.LeaseToken {
				return errLost
			}
			clearLease(j)
			outcome := o.Outcome
			converted[i] = j.CancelRequested && (outcome == backend.OutcomeRetry || outcome == backend.OutcomeSnoozed)
			if converted[i] {
				outcome = backend.OutcomeCancelled // cancelled while running: never retrying (DESIGN §2)
			}
			if outcome == backend.OutcomeCancelled {
				j.CancelRequested = false // honoured
			}
			switch outcome {
			case backend.OutcomeCompleted:
				j.Result = o.Result
				finish(j, backend.StateCompleted, p.Now)
			case backend.OutcomeRetry:
				j.AppendError(o.Error, p.Now)
				j.RunAt = o.RunAt
				j.State = backend.StateRetrying
			case backend.OutcomeFailed:
				j.AppendError(o.Error, p.Now)
				finish(j, backend.StateFailed, p.Now)
			case backend.OutcomeCancelled:
				j.AppendError(o.Error, p.Now)
				finish(j, backend.StateCancelled, p.Now)
			case backend.OutcomeSnoozed:
				j.Attempt--
				j.RunAt = o.RunAt
				j.State = backend.StateQueued
				if j.RunAt.After(p.Now) {
					j.State = backend.StateScheduled
				}
			}
			return nil
		}}
	}
	if err := b.transition(ctx, steps); err != nil {
		return nil, err
	}
	res := &backend.JobFinishResult{}
	ended := make([]string, len(steps))
	for i, s := range steps {
		if err := lostOrErr(s); err != nil {
			return nil, err
		} else if s.err != nil {
			res.LeaseLost = append(res.LeaseLost, s.id)
		} else if converted[i] {
			res.Cancelled = append(res.Cancelled, s.id)
		}
		ended[i] = leaseName(s.id, p.Jobs[i].LeaseToken)
	}
	b.endLeases(ctx, ended)
	return res, nil
}

// lostOrErr returns a step's error unless it means "lease lost".
func lostOrErr(s *step) error {
	if !s.done && s.err != nil {
		return s.err
	}
	if s.err == nil || errors.Is(s.err, errLost) || errors.Is(s.err, errMissing) {
		return nil
	}
	return s.err
}

func clearLease(j *backend.Job) {
	j.LeaseOwner, j.LeaseToken, j.LeaseExpiresAt = "", "", time.Time{}
}

func finish(j *backend.Job, s backend.JobState, now time.Time) {
	j.State = s
	j.FinishedAt = now
}

// LeaseExtend pushes live leases to Now+Duration and stores progress, with
// the same fenced compare-and-set as JobFinish. It also lists the extended
// jobs under a new running-index key, which heals an index entry lost
// otherwise (a crash between a claim's index and record writes cannot lose
// one, the index goes first, but this keeps rescue from ever missing a
// live lease).
func (b *Backend) LeaseExtend(ctx context.Context, p *backend.LeaseExtendParams) (*backend.LeaseExtendResult, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	expires := p.Now.Add(p.Duration)
	steps := make([]*step, len(p.Leases))
	for i, l := range p.Leases {
		steps[i] = &step{id: l.ID, apply: func(j *backend.Job) error {
			if j.State != backend.StateRunning || l.LeaseToken == "" || j.LeaseToken != l.LeaseToken {
				return errLost
			}
			j.LeaseExpiresAt = expires
			if l.Progress != nil {
				j.Progress = l.Progress
			}
			return nil
		}}
	}
	if err := b.transition(ctx, steps); err != nil {
		return nil, err
	}
	res := &backend.LeaseExtendResult{}
	var live, liveLeases, lost []string
	for i, s := range steps {
		if err := lostOrErr(s); err != nil {
			return nil, err
		}
		lease := leaseName(s.id, p.Leases[i].LeaseToken)
		if s.err != nil {
			res.Lost = append(res.Lost, s.id)
			lost = append(lost, lease)
			continue
		}
		live, liveLeases = append(live, s.id), append(liveLeases, lease)
		if s.job.CancelRequested {
			res.CancelRequested = append(res.CancelRequested, s.id)
		}
	}
	b.endLeases(ctx, lost)
	ws, keys := b.runningWrites(live)
	if err := firstErr(b.writeAll(ctx, ws)); err != nil {
		return nil, err
	}
	for k, key := range keys {
		b.runIdx.add(key, liveLeases[k*runningBatch:min(len(liveLeases), (k+1)*runningBatch)])
	}
	return res, nil
}

// staleIndexAge is how old (wall clock, by the server's timestamp) an index
// entry must be before a sweeper removes it for not matching its record:
// younger entries may precede a record write still in flight.
const staleIndexAge = time.Minute

// runningKey is one key of the running index and the job IDs it lists.
type runningKey struct {
	key     string
	ids     []string
	created time.Time
}

// listRunning lists the running index with its values. A key with an empty
// value is a job ID itself (one key per job, as earlier versions wrote).
func (b *Backend) listRunning(ctx context.Context) ([]runningKey, error) {
	var out []runningKey
	w, err := b.running.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, b.wrap("list "+b.running.Bucket(), err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, b.wrap("list "+b.running.Bucket(), errors.New("watch ended early"))
			}
			if e == nil {
				return out, nil
			}
			ids := strings.Fields(string(e.Value()))
			if len(ids) == 0 {
				ids = []string{e.Key()}
			}
			out = append(out, runningKey{key: e.Key(), ids: ids, created: e.Created()})
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// indexKey is one key of the scheduled index.
type indexKey struct {
	key     string
	id      string
	ms      int64
	created time.Time
}

// listIndex lists the keys of an index bucket without their values.
func (b *Backend) listIndex(ctx context.Context, kv jetstream.KeyValue) ([]indexKey, error) {
	var out []indexKey
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes(), jetstream.MetaOnly())
	if err != nil {
		return nil, b.wrap("list "+kv.Bucket(), err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, b.wrap("list "+kv.Bucket(), errors.New("watch ended early"))
			}
			if e == nil {
				return out, nil
			}
			out = append(out, indexKey{key: e.Key(), id: e.Key(), created: e.Created()})
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// JobRescue hands back running jobs whose lease expired before Now, found
// through the running index (keys listing the IDs claimed together) rather
// than a scan of every job; the longest-expired first when Limit cuts the
// list. It also deletes index keys none of whose jobs is running.
func (b *Backend) JobRescue(ctx context.Context, p *backend.JobRescueParams) (*backend.JobRescueResult, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	keys, err := b.listRunning(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	seen := map[string]int{} // id -> index in ids
	for _, k := range keys {
		for _, id := range k.ids {
			if _, ok := seen[id]; !ok {
				seen[id] = len(ids)
				ids = append(ids, id)
			}
		}
	}
	ents := b.getJobs(ctx, ids)
	var expired []*backend.Job
	for _, e := range ents {
		if e.err != nil {
			return nil, e.err
		}
		if e.job != nil && e.job.State == backend.StateRunning && e.job.LeaseExpiresAt.Before(p.Now) {
			expired = append(expired, e.job)
		}
	}
	var stale []write
	for _, k := range keys {
		if time.Since(k.created) <= b.staleAge {
			continue // may precede record writes still in flight
		}
		live := slices.ContainsFunc(k.ids, func(id string) bool {
			e := ents[seen[id]]
			return e.job != nil && e.job.State == backend.StateRunning
		})
		if !live {
			stale = append(stale, write{subject: kvSubject(b.names.runningBucket(), k.key), del: true, expect: expectNone})
		}
	}
	if len(stale) > 0 {
		b.writeAll(ctx, stale)
	}
	slices.SortFunc(expired, func(x, y *backend.Job) int {
		return cmp.Or(x.LeaseExpiresAt.Compare(y.LeaseExpiresAt), cmp.Compare(x.ID, y.ID))
	})
	if p.Limit > 0 && len(expired) > p.Limit {
		expired = expired[:p.Limit]
	}
	steps := make([]*step, len(expired))
	for i, j := range expired {
		steps[i] = &step{id: j.ID, apply: func(j *backend.Job) error {
			if j.State != backend.StateRunning || !j.LeaseExpiresAt.Before(p.Now) {
				return errSkip
			}
			owner := j.LeaseOwner
			clearLease(j)
			j.AppendError(&backend.AttemptError{
				Message: fmt.Sprintf("lease expired: worker %q neither finished nor extended it", owner),
			}, p.Now)
			switch {
			case j.CancelRequested: // the worker that would have stopped it is gone
				j.CancelRequested = false
				finish(j, backend.StateCancelled, p.Now)
			case j.Attempt < j.MaxAttempts:
				j.RunAt = p.Now
				j.State = backend.StateQueued
			default:
				finish(j, backend.StateFailed, p.Now)
			}
			return nil
		}}
	}
	if err := b.transition(ctx, steps); err != nil {
		return nil, err
	}
	res := &backend.JobRescueResult{Jobs: []backend.RescuedJob{}}
	for _, s := range steps {
		if s.done && s.err == nil {
			res.Jobs = append(res.Jobs, backend.RescuedJob{ID: s.id, Kind: s.job.Kind, Queue: s.job.Queue, State: s.job.State})
		}
	}
	return res, nil
}

// JobPromote moves due scheduled and retrying jobs to queued. The
// scheduled index is a KV bucket whose keys start with the due time, so due
// jobs are found from key names alone (a listing of the index, O(waiting
// jobs)), then each record is moved with compare-and-set.
func (b *Backend) JobPromote(ctx context.Context, p *backend.JobPromoteParams) (*backend.JobPromoteResult, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	now := p.Now.UnixMilli()
	seq, err := b.schedLastSeq(ctx)
	if err != nil {
		return nil, err
	}
	if b.promoted.skip(seq, now) {
		return &backend.JobPromoteResult{}, nil
	}
	keys, err := b.listIndex(ctx, b.sched)
	if err != nil {
		return nil, err
	}
	var due []indexKey
	for _, k := range keys {
		ms, id, ok := parseSchedKey(k.key)
		if ok && ms <= now {
			k.ms, k.id = ms, id
			due = append(due, k)
		}
	}
	slices.SortFunc(due, func(x, y indexKey) int { return cmp.Or(cmp.Compare(x.ms, y.ms), cmp.Compare(x.id, y.id)) })
	var steps []*step
	seen := map[string]bool{}
	for _, k := range due {
		if seen[k.id] {
			continue
		}
		if p.Limit > 0 && len(steps) >= p.Limit {
			break
		}
		seen[k.id] = true
		steps = append(steps, &step{id: k.id, apply: func(j *backend.Job) error {
			if (j.State != backend.StateScheduled && j.State != backend.StateRetrying) || j.RunAt.After(p.Now) {
				return errSkip
			}
			j.State = backend.StateQueued
			return nil
		}})
	}
	if err := b.transition(ctx, steps); err != nil {
		return nil, err
	}
	res := &backend.JobPromoteResult{}
	byID := map[string]*step{}
	for _, s := range steps {
		byID[s.id] = s
		if s.done && s.err == nil {
			res.Promoted++
		}
	}
	// Drop index keys that no longer match their record. A running job's
	// key is kept: it may be about to become retrying with that run_at.
	var stale []write
	left := 0 // due keys kept
	for _, k := range due {
		s := byID[k.id]
		if s == nil {
			left++ // beyond Limit
			continue
		}
		if s.done && s.err == nil {
			continue // promoted (its key was deleted)
		}
		j := s.old
		drop := false
		switch {
		case j == nil:
			drop = time.Since(k.created) > b.staleAge
		case j.State == backend.StateRunning:
		case j.State == backend.StateScheduled || j.State == backend.StateRetrying:
			drop = j.RunAt.UnixMilli() != k.ms
		default:
			drop = true
		}
		if drop {
			stale = append(stale, write{subject: kvSubject(b.names.schedBucket(), k.key), del: true, expect: expectNone})
		} else {
			left++
		}
	}
	if len(stale) > 0 {
		b.writeAll(ctx, stale)
	}
	// Skipping later listings is safe only when no due key was kept: a
	// kept one (beyond Limit, a running job's, one whose record write may
	// still be in flight) must be looked at again.
	if left == 0 {
		b.promoted.set(seq, earliestAfter(keys, now))
	} else {
		b.promoted.clear()
	}
	return res, nil
}
