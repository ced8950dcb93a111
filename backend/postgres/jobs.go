package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"conveyor/backend"
)

// stateBits mirrors the SQL function state_bit (migration 1).
var stateBits = map[backend.JobState]int32{
	backend.StateScheduled: 1, backend.StateQueued: 2, backend.StateRunning: 4, backend.StateRetrying: 8,
	backend.StateCompleted: 16, backend.StateFailed: 32, backend.StateCancelled: 64,
}

// uniqueMask returns the bitmask of the states in which a job holds its key.
func uniqueMask(states []backend.JobState) int32 {
	if len(states) == 0 {
		states = backend.DefaultUniqueStates
	}
	var m int32
	for _, s := range states {
		m |= stateBits[s]
	}
	return m
}

// enqueueBatch is the jobs of one enqueue statement with the Now of each.
type enqueueBatch struct {
	Jobs []*backend.JobInsert
	Nows []time.Time
}

// maxEnqueueRounds bounds how often an enqueue retries jobs whose key holder
// left its unique states between the insert and the lookup of the holder.
const maxEnqueueRounds = 10

// JobEnqueue implements backend.Jobs. In the common case it is one
// autocommitted statement, shared with concurrent calls (see combiner);
// duplicates cost one more statement to find their holder.
func (b *Backend) JobEnqueue(ctx context.Context, p *backend.JobEnqueueParams) (*backend.JobEnqueueResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	// No NOTIFY inside the statement: a transaction that notifies holds a
	// database-wide lock through its commit's WAL flush, which serializes
	// concurrent enqueues (measured: 3x fewer single inserts/s). The job is
	// committed when the statement returns, so the notifier sends the wake-up
	// right after, coalesced, from outside any transaction.
	if len(p.Jobs) == 0 {
		return &backend.JobEnqueueResult{}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err // store nothing for a caller that already gave up
	}
	res, err := b.combiner.enqueue(ctx, p)
	if err != nil {
		return nil, err
	}
	for _, j := range p.Jobs {
		b.knownQueues.Store(j.Queue, true) // committed: registered for good
	}
	for i, o := range res.Jobs {
		if !o.Duplicate && o.State == backend.StateQueued {
			b.wake.local(p.Jobs[i].Queue) // watchers in this process, at once
			b.notifier.add(p.Jobs[i].Queue)
		}
	}
	return res, nil
}

// enqueue runs the enqueue statement through r and resolves the jobs it did
// not store to the jobs that blocked them (unique key holder, or a job with
// the same ID: a retried enqueue). inTx says r is a caller's transaction: the
// statement then sends the NOTIFY itself (delivered only on commit).
func (b *Backend) enqueue(ctx context.Context, r runner, p *backend.JobEnqueueParams, inTx bool) (*backend.JobEnqueueResult, error) {
	nows := make([]time.Time, len(p.Jobs))
	for i := range nows {
		nows[i] = p.Now
	}
	return b.enqueueAt(ctx, r, p.Jobs, nows, inTx)
}

// enqueueAt is enqueue with one Now per job (jobs of several calls combined).
func (b *Backend) enqueueAt(ctx context.Context, r runner, jobs []*backend.JobInsert, nows []time.Time, inTx bool) (*backend.JobEnqueueResult, error) {
	p := &enqueueBatch{Jobs: jobs, Nows: nows}
	res := &backend.JobEnqueueResult{Jobs: make([]backend.EnqueueOutcome, len(p.Jobs))}
	if len(p.Jobs) == 0 {
		return res, nil
	}
	if !inTx && copyable(p) {
		res, ok, err := b.copyJobs(ctx, p)
		if err != nil || ok {
			return res, err
		}
		// A job ID exists already (retried enqueue): the statement path below
		// reports it as a duplicate.
	}
	pending := make([]int, len(p.Jobs))
	for i := range pending {
		pending[i] = i
	}
	for round := 0; len(pending) > 0; round++ {
		if round == maxEnqueueRounds {
			return nil, fmt.Errorf("postgres: enqueue: %d jobs neither stored nor blocked after %d rounds", len(pending), round)
		}
		inserted, err := b.insertJobs(ctx, r, p, pending, inTx)
		if err != nil {
			return nil, err
		}
		var missing []int
		for _, i := range pending {
			id := p.Jobs[i].ID
			if st, ok := inserted[id]; ok {
				res.Jobs[i] = backend.EnqueueOutcome{ID: id, State: st}
				delete(inserted, id) // a second job with this ID in the batch is a duplicate
			} else {
				missing = append(missing, i)
			}
		}
		if len(missing) == 0 {
			break
		}
		pending, err = b.resolveDuplicates(ctx, r, p, missing, res)
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

// insertJobs runs the enqueue statement for the jobs at idx and returns the
// stored IDs with their states.
func (b *Backend) insertJobs(ctx context.Context, r runner, p *enqueueBatch, idx []int, inTx bool) (map[string]backend.JobState, error) {
	n := len(idx)
	var (
		ids, kinds, queues, args, uniqueKeys, uniqueStates, tags, metas, states = make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		priorities, maxAttempts, masks = make([]int32, n), make([]int32, n), make([]int32, n)
		timeouts                       = make([]int64, n)
		runAts, nows                   = make([]time.Time, n), make([]time.Time, n)
	)
	for k, i := range idx {
		j := p.Jobs[i]
		ids[k], kinds[k], queues[k], args[k] = j.ID, j.Kind, j.Queue, string(j.Args)
		priorities[k], maxAttempts[k], timeouts[k], runAts[k] = int32(j.Priority), int32(j.MaxAttempts), int64(j.Timeout), j.RunAt
		uniqueKeys[k], masks[k] = j.UniqueKey, uniqueMask(j.UniqueStates)
		if len(j.UniqueStates) > 0 {
			ss := make([]string, len(j.UniqueStates))
			for x, s := range j.UniqueStates {
				ss[x] = string(s)
			}
			uniqueStates[k] = strings.Join(ss, ",")
		}
		if len(j.Tags) > 0 {
			t, err := json.Marshal(j.Tags)
			if err != nil {
				return nil, fmt.Errorf("postgres: enqueue: encode tags: %w", err)
			}
			tags[k] = string(t)
		}
		if len(j.Meta) > 0 {
			metas[k] = string(j.Meta)
		}
		nows[k] = p.Nows[i]
		states[k] = string(backend.StateQueued)
		if j.RunAt.After(p.Nows[i]) {
			states[k] = string(backend.StateScheduled)
		}
	}
	inserted := make(map[string]backend.JobState, n)
	channel := ""
	if inTx {
		channel = b.channel
	}
	// Queues to register: those not known to be committed already.
	var distinctQueues []string
	for _, q := range queues {
		if _, known := b.knownQueues.Load(q); known {
			continue
		}
		if !slices.Contains(distinctQueues, q) {
			distinctQueues = append(distinctQueues, q)
		}
	}
	if inTx && len(distinctQueues) > 0 {
		// Registered outside the caller's transaction, committed at once: an
		// uncommitted queues row would make every other enqueue to that
		// queue wait for the caller's commit (and two transactions
		// registering [a,b] and [b,a] could deadlock). And in the
		// background: the caller holds a pool connection, so waiting here
		// for another could deadlock a pool whose every connection is held
		// by such a caller. Jobs do not need the row (no foreign key); a
		// failed registration is tried again by the next enqueue. A rollback
		// leaves an empty queue registered, which is harmless.
		b.registerQueuesLater(distinctQueues)
		distinctQueues = nil
	}
	err := r.query(ctx, b.q.enqueue, []any{ids, kinds, queues, args, priorities, maxAttempts, timeouts, runAts,
		uniqueKeys, uniqueStates, masks, tags, metas, nows, channel, states, distinctQueues},
		func(scan func(...any) error) error {
			var id, st string
			var notified int64
			if err := scan(&id, &st, &notified); err != nil {
				return err
			}
			inserted[id] = backend.JobState(st)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("postgres: enqueue: %w", err)
	}
	return inserted, nil
}

// registerQueuesLater records queues in the queues table from a goroutine
// of its own (see the transactional enqueue above), marking them known once
// the insert committed.
func (b *Backend) registerQueuesLater(queues []string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := b.pool.Exec(ctx, b.q.queueRegister, queues); err != nil {
			return // the next enqueue to these queues registers them again
		}
		for _, q := range queues {
			b.knownQueues.Store(q, true)
		}
	}()
}

// resolveDuplicates fills the outcome of each job at missing with the job
// that blocked it and returns those it could not resolve (the holder left
// its unique states in between: they are tried again).
func (b *Backend) resolveDuplicates(ctx context.Context, r runner, p *enqueueBatch, missing []int, res *backend.JobEnqueueResult) ([]int, error) {
	var keys, ids []string
	for _, i := range missing {
		if k := p.Jobs[i].UniqueKey; k != "" {
			keys = append(keys, k)
		}
		ids = append(ids, p.Jobs[i].ID)
	}
	type hit struct {
		id    string
		state backend.JobState
	}
	holders, byID := map[string]hit{}, map[string]hit{}
	err := r.query(ctx, b.q.enqueueLookup, []any{keys, ids}, func(scan func(...any) error) error {
		var key, id, st string
		if err := scan(&key, &id, &st); err != nil {
			return err
		}
		if key != "" {
			holders[key] = hit{id, backend.JobState(st)}
		} else {
			byID[id] = hit{id, backend.JobState(st)}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: enqueue: find duplicates: %w", err)
	}
	var again []int
	for _, i := range missing {
		j := p.Jobs[i]
		// A replay first: an ID enqueued again answers with its own job, even
		// if another job has taken its unique key since.
		if h, ok := byID[j.ID]; ok {
			res.Jobs[i] = backend.EnqueueOutcome{ID: h.id, Duplicate: true, State: h.state}
		} else if h, ok := holders[j.UniqueKey]; ok && j.UniqueKey != "" {
			res.Jobs[i] = backend.EnqueueOutcome{ID: h.id, Duplicate: true, State: h.state}
		} else {
			again = append(again, i)
		}
	}
	return again, nil
}

// JobClaim implements backend.Jobs with one statement.
func (b *Backend) JobClaim(ctx context.Context, p *backend.JobClaimParams) (*backend.JobClaimResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	if p.Limit <= 0 {
		return &backend.JobClaimResult{}, nil
	}
	claim := func(limit int) (jobs []*backend.Job, err error) {
		err = b.retryUnique(ctx, func() (err error) {
			jobs, err = collectJobs(b.pool.Query(ctx, b.q.claim, p.Queue, limit, p.Owner, p.Now, p.Now.Add(p.LeaseDuration)))
			return err
		})
		return jobs, err
	}
	jobs, err := claim(p.Limit)
	if isUniqueViolation(err) && p.Limit > 1 {
		// Two jobs of this batch would both start holding one unique key
		// (unique states that include running but not their current state).
		// One at a time, the first takes the key and the release lets the
		// next go through without it.
		jobs, err = nil, nil
		for len(jobs) < p.Limit {
			one, cerr := claim(1)
			if cerr != nil || len(one) == 0 {
				err = cerr
				break
			}
			jobs = append(jobs, one...)
		}
		if err != nil && len(jobs) > 0 {
			err = nil // hand out what was claimed; the rest waits for the next claim
		}
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: claim from %q: %w", p.Queue, err)
	}
	// UPDATE … RETURNING has no order; hand jobs out in claim order.
	slices.SortFunc(jobs, func(a, c *backend.Job) int {
		if a.Priority != c.Priority {
			return cmp.Compare(c.Priority, a.Priority)
		}
		if d := a.RunAt.Compare(c.RunAt); d != 0 {
			return d
		}
		return strings.Compare(a.ID, c.ID)
	})
	return &backend.JobClaimResult{Jobs: jobs}, nil
}

// finishArgs builds the parameters of the finish statement.
func finishArgs(p *backend.JobFinishParams) ([]any, error) {
	n := len(p.Jobs)
	ids, tokens, outcomes, results, errs, states := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n)
	runAts := make([]time.Time, n)
	for k, o := range p.Jobs {
		ids[k], tokens[k], outcomes[k], runAts[k] = o.ID, o.LeaseToken, string(o.Outcome), o.RunAt
		if o.Outcome == backend.OutcomeCompleted && len(o.Result) > 0 {
			results[k] = string(o.Result)
		}
		if o.Error != nil && o.Outcome != backend.OutcomeSnoozed && o.Outcome != backend.OutcomeCompleted {
			e, err := json.Marshal(o.Error)
			if err != nil {
				return nil, fmt.Errorf("encode error of job %s: %w", o.ID, err)
			}
			errs[k] = string(e)
		}
		switch o.Outcome {
		case backend.OutcomeCompleted:
			states[k] = string(backend.StateCompleted)
		case backend.OutcomeRetry:
			states[k] = string(backend.StateRetrying)
		case backend.OutcomeFailed:
			states[k] = string(backend.StateFailed)
		case backend.OutcomeCancelled:
			states[k] = string(backend.StateCancelled)
		case backend.OutcomeSnoozed:
			states[k] = string(backend.StateQueued)
			if o.RunAt.After(p.Now) {
				states[k] = string(backend.StateScheduled)
			}
		default:
			return nil, fmt.Errorf("job %s: unknown outcome %q", o.ID, o.Outcome)
		}
	}
	return []any{ids, tokens, outcomes, results, errs, runAts, p.Now, states}, nil
}

// JobFinish implements backend.Jobs with one statement per batch.
func (b *Backend) JobFinish(ctx context.Context, p *backend.JobFinishParams) (*backend.JobFinishResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	if len(p.Jobs) == 0 {
		return &backend.JobFinishResult{}, nil
	}
	return b.finishSplit(ctx, p.Jobs, p.Now)
}

// finishSplit finishes jobs in one statement or, when two of them enter one
// unique key together (see retryUnique), in two halves, recursively: a
// colliding pair costs a few more statements, not one per job.
func (b *Backend) finishSplit(ctx context.Context, jobs []*backend.JobOutcome, now time.Time) (*backend.JobFinishResult, error) {
	var res *backend.JobFinishResult
	err := b.retryUnique(ctx, func() (err error) {
		res, err = b.finish(ctx, pgxRunner{b.pool}, &backend.JobFinishParams{Jobs: jobs, Now: now})
		return err
	})
	if !isUniqueViolation(err) || len(jobs) == 1 {
		return res, err
	}
	half := len(jobs) / 2
	first, err := b.finishSplit(ctx, jobs[:half], now)
	if err != nil {
		return nil, err
	}
	second, err := b.finishSplit(ctx, jobs[half:], now)
	if err != nil {
		return nil, err
	}
	first.LeaseLost = append(first.LeaseLost, second.LeaseLost...)
	first.Cancelled = append(first.Cancelled, second.Cancelled...)
	return first, nil
}

// byHalves runs a limited transition step (rescue, promote) until it finds
// no more work or has done limit (0: no limit), halving its batch after a
// unique violation that retryUnique could not resolve (two of the batch
// entering one key together) and doubling it back after a success, so a
// colliding pair costs a few more statements, not one per job. step does
// up to n jobs and reports how many it did.
func byHalves(limit int, step func(n int) (int, error)) error {
	const most = 1024
	n := most
	for total := 0; limit <= 0 || total < limit; {
		k := n
		if limit > 0 {
			k = min(k, limit-total)
		}
		done, err := step(k)
		if isUniqueViolation(err) && k > 1 {
			n = k / 2
			continue
		}
		if err != nil {
			return err
		}
		total += done
		if done < k {
			return nil // nothing more to do
		}
		n = min(2*n, most)
	}
	return nil
}

// retryUnique runs f, and once more after releasing conflicting unique keys
// (see unique_release.sql) if it failed with a unique violation, so that an
// automatic transition never fails a whole batch over one job's key.
//
// The release only helps a job whose key another job already holds. When
// two jobs of one batch enter a state that holds the same key together
// (their unique states leaving out running, say, or scheduled), neither
// holds it yet and the retry fails the same way: the callers then go in
// smaller batches (finishSplit, byHalves), down to one job at a time if need
// be, where the second finds the first holding the key and the release lets
// it through without it.
func (b *Backend) retryUnique(ctx context.Context, f func() error) error {
	err := f()
	if !isUniqueViolation(err) {
		return err
	}
	if _, rerr := b.pool.Exec(ctx, b.q.uniqueRelease); rerr != nil {
		return fmt.Errorf("%w (releasing conflicting unique keys: %v)", err, rerr)
	}
	return f()
}

func (b *Backend) finish(ctx context.Context, r runner, p *backend.JobFinishParams) (*backend.JobFinishResult, error) {
	args, err := finishArgs(p)
	if err != nil {
		return nil, fmt.Errorf("postgres: finish: %w", err)
	}
	done := make(map[string]bool, len(p.Jobs))
	var cancelled []string
	err = r.query(ctx, b.q.finish, args, func(scan func(...any) error) error {
		var id, token string
		var converted bool
		if err := scan(&id, &token, &converted); err != nil {
			return err
		}
		done[id+"\x00"+token] = true
		if converted {
			cancelled = append(cancelled, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: finish: %w", err)
	}
	res := &backend.JobFinishResult{Cancelled: cancelled}
	for _, o := range p.Jobs {
		if !done[o.ID+"\x00"+o.LeaseToken] {
			res.LeaseLost = append(res.LeaseLost, o.ID)
		}
	}
	return res, nil
}

// limitArg turns a 0-means-unlimited limit into a LIMIT parameter (NULL = none).
func limitArg(limit int) *int64 {
	if limit <= 0 {
		return nil
	}
	l := int64(limit)
	return &l
}

// rescueMessage is the attempt error a rescued job gets.
const rescueMessage = "lease expired: the worker stopped heartbeating (crashed, cut off or stuck)"

// JobRescue implements backend.Jobs.
func (b *Backend) JobRescue(ctx context.Context, p *backend.JobRescueParams) (*backend.JobRescueResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	rescue := func(limit int, into *backend.JobRescueResult) error {
		return b.retryUnique(ctx, func() error {
			var got []backend.RescuedJob
			err := pgxRunner{b.pool}.query(ctx, b.q.rescue, []any{p.Now, limitArg(limit), rescueMessage, b.channel},
				func(scan func(...any) error) error {
					var r backend.RescuedJob
					var st string
					var n int64
					if err := scan(&r.ID, &r.Kind, &r.Queue, &st, &n); err != nil {
						return err
					}
					r.State = backend.JobState(st)
					got = append(got, r)
					return nil
				})
			if err == nil {
				into.Jobs = append(into.Jobs, got...)
			}
			return err
		})
	}
	res := &backend.JobRescueResult{}
	err := rescue(p.Limit, res)
	if isUniqueViolation(err) {
		// Two of the batch enter one key together (see retryUnique); each
		// rescued job leaves the expired set, so the steps move on.
		err = byHalves(p.Limit, func(n int) (int, error) {
			before := len(res.Jobs)
			err := rescue(n, res)
			return len(res.Jobs) - before, err
		})
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: rescue: %w", err)
	}
	return res, nil
}

// JobPromote implements backend.Jobs.
func (b *Backend) JobPromote(ctx context.Context, p *backend.JobPromoteParams) (*backend.JobPromoteResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	var promoted int64
	promote := func(limit int) error {
		return b.retryUnique(ctx, func() error {
			var n, notified int64
			err := b.pool.QueryRow(ctx, b.q.promote, p.Now, limitArg(limit), b.channel).Scan(&n, &notified)
			if err == nil {
				promoted += n
			}
			return err
		})
	}
	err := promote(p.Limit)
	if isUniqueViolation(err) {
		// Two of the batch enter one key together (see retryUnique).
		err = byHalves(p.Limit, func(n int) (int, error) {
			before := promoted
			err := promote(n)
			return int(promoted - before), err
		})
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: promote: %w", err)
	}
	return &backend.JobPromoteResult{Promoted: int(promoted)}, nil
}

// JobGet implements backend.Jobs.
func (b *Backend) JobGet(ctx context.Context, p *backend.JobGetParams) (*backend.Job, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	j, err := scanJob(b.pool.QueryRow(ctx, b.q.jobGet, p.ID))
	if err != nil {
		return nil, fmt.Errorf("postgres: get job %s: %w", p.ID, mapErr(err))
	}
	return j, nil
}

// JobList implements backend.Jobs.
func (b *Backend) JobList(ctx context.Context, p *backend.JobListParams) (*backend.JobListResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	limit := p.PageSize()
	var states []string
	if len(p.States) > 0 {
		for _, s := range p.States {
			states = append(states, string(s))
		}
	}
	var after, before *time.Time
	if !p.EnqueuedAfter.IsZero() {
		after = &p.EnqueuedAfter
	}
	if !p.EnqueuedBefore.IsZero() {
		before = &p.EnqueuedBefore
	}
	// One row more than the page tells whether another page exists.
	jobs, err := collectJobs(b.pool.Query(ctx, b.q.jobList, states, p.Queue, p.Kind, p.Tag, after, before, p.Cursor, limit+1))
	if err != nil {
		return nil, fmt.Errorf("postgres: list jobs: %w", err)
	}
	res := &backend.JobListResult{Jobs: jobs}
	if len(jobs) > limit {
		res.Jobs = jobs[:limit]
		res.NextCursor = jobs[limit-1].ID
	}
	return res, nil
}

// stateError tells a missing job (ErrNotFound) from one in the wrong state
// after a conditional statement changed no row.
func (b *Backend) stateError(ctx context.Context, op, id string) error {
	var st string
	err := b.pool.QueryRow(ctx, b.q.jobState, id).Scan(&st)
	if err != nil {
		return fmt.Errorf("postgres: %s job %s: %w", op, id, mapErr(err))
	}
	return fmt.Errorf("postgres: %s job %s (%s): %w", op, id, st, backend.ErrWrongState)
}

// JobCancel implements backend.Jobs.
func (b *Backend) JobCancel(ctx context.Context, p *backend.JobCancelParams) (*backend.Job, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	j, err := scanJob(b.pool.QueryRow(ctx, b.q.jobCancel, p.ID, p.Now))
	if err == pgx.ErrNoRows {
		return nil, b.stateError(ctx, "cancel", p.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: cancel job %s: %w", p.ID, mapErr(err))
	}
	return j, nil
}

// JobRetry implements backend.Jobs. Making a job queued again while another
// job holds its unique key fails with ErrConflict.
func (b *Backend) JobRetry(ctx context.Context, p *backend.JobRetryParams) (*backend.Job, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	j, err := scanJob(b.pool.QueryRow(ctx, b.q.jobRetry, p.ID, p.Now))
	if err == pgx.ErrNoRows {
		return nil, b.stateError(ctx, "retry", p.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: retry job %s: %w", p.ID, mapErr(err))
	}
	if j.State == backend.StateQueued {
		b.wake.local(j.Queue)
		b.notifier.add(j.Queue)
	}
	return j, nil
}

// JobDelete implements backend.Jobs.
func (b *Backend) JobDelete(ctx context.Context, p *backend.JobDeleteParams) error {
	if err := b.check(); err != nil {
		return err
	}
	tag, err := b.pool.Exec(ctx, b.q.jobDelete, p.ID)
	if err != nil {
		return fmt.Errorf("postgres: delete job %s: %w", p.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return b.stateError(ctx, "delete", p.ID)
	}
	return nil
}

// JobPrune implements backend.Jobs.
func (b *Backend) JobPrune(ctx context.Context, p *backend.JobPruneParams) (*backend.JobPruneResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	if !p.State.Final() {
		return &backend.JobPruneResult{}, nil // running and waiting jobs are never pruned
	}
	tag, err := b.pool.Exec(ctx, b.q.jobPrune, string(p.State), p.FinishedBefore, limitArg(p.Limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: prune: %w", err)
	}
	return &backend.JobPruneResult{Deleted: int(tag.RowsAffected())}, nil
}
