package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"conveyor/backend"
)

// JobEnqueue stores the jobs in one transaction on the writer. Unique keys
// are checked and jobs inserted in that same transaction, one job after the
// other, so a key taken earlier in the batch is seen by later jobs and the
// single writer makes the check-then-insert race-free (across processes too:
// the transaction holds SQLite's write lock from BEGIN IMMEDIATE). A job
// whose ID is already stored is reported as a duplicate of itself.
func (b *Backend) JobEnqueue(ctx context.Context, p *backend.JobEnqueueParams) (*backend.JobEnqueueResult, error) {
	s, err := b.ready()
	if err != nil {
		return nil, err
	}
	tx, err := b.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, b.fail("job enqueue", err)
	}
	defer tx.Rollback()
	res, wake, err := b.enqueueTx(ctx, s, tx, p)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, b.fail("job enqueue: commit", err)
	}
	b.wake(wake...)
	return res, nil
}

// enqueueTx does JobEnqueue's work inside tx and returns the queues that got
// a claimable job, to wake once the transaction commits.
func (b *Backend) enqueueTx(ctx context.Context, s *stmts, tx *sql.Tx, p *backend.JobEnqueueParams) (*backend.JobEnqueueResult, []string, error) {
	insert := tx.StmtContext(ctx, s.insert)
	defer insert.Close()
	var holder, jobState *sql.Stmt
	defer func() {
		if holder != nil {
			holder.Close()
		}
		if jobState != nil {
			jobState.Close()
		}
	}()
	res := &backend.JobEnqueueResult{Jobs: make([]backend.EnqueueOutcome, len(p.Jobs))}
	var queues, wake []string
	for i, ins := range p.Jobs {
		if ins == nil || ins.ID == "" {
			return nil, nil, fmt.Errorf("sqlite: job enqueue: job %d has no ID", i)
		}
		if ins.UniqueKey != "" {
			// A replay first: an ID enqueued again answers with its own job,
			// even if another job has taken the key since.
			if jobState == nil {
				jobState = tx.StmtContext(ctx, s.jobState)
			}
			var existing string
			switch err := jobState.QueryRowContext(ctx, ins.ID).Scan(&existing); {
			case err == nil:
				res.Jobs[i] = backend.EnqueueOutcome{ID: ins.ID, Duplicate: true, State: backend.JobState(existing)}
				continue
			case !errors.Is(err, sql.ErrNoRows):
				return nil, nil, b.fail("job enqueue "+ins.ID, err)
			}
			if holder == nil {
				holder = tx.StmtContext(ctx, s.holder)
			}
			id, state, held, err := uniqueHolder(ctx, holder, ins.UniqueKey)
			if err != nil {
				return nil, nil, b.fail("job enqueue: unique key", err)
			}
			if held {
				res.Jobs[i] = backend.EnqueueOutcome{ID: id, Duplicate: true, State: state}
				continue
			}
		}
		runAt := ins.RunAt
		if runAt.IsZero() { // required by the port; due now rather than in year 1
			runAt = p.Now
		}
		state := backend.StateQueued
		if runAt.After(p.Now) {
			state = backend.StateScheduled
		}
		uniqueStates, err := jsonList(ins.UniqueStates)
		if err != nil {
			return nil, nil, fmt.Errorf("sqlite: job enqueue %s: unique states: %w", ins.ID, err)
		}
		tags, err := jsonList(ins.Tags)
		if err != nil {
			return nil, nil, fmt.Errorf("sqlite: job enqueue %s: tags: %w", ins.ID, err)
		}
		var uniqueKey any
		if ins.UniqueKey != "" {
			uniqueKey = ins.UniqueKey
		}
		r, err := insert.ExecContext(ctx, ins.ID, ins.Kind, ins.Queue, string(ins.Args), ins.Priority, string(state),
			ins.MaxAttempts, int64(ins.Timeout), ns(runAt), uniqueKey, uniqueStates, tags, jsonText(ins.Meta), ns(p.Now))
		if err != nil {
			return nil, nil, b.fail("job enqueue "+ins.ID, err)
		}
		if n, err := r.RowsAffected(); err != nil {
			return nil, nil, b.fail("job enqueue "+ins.ID, err)
		} else if n == 0 {
			// The ID is taken: the same job enqueued again.
			if jobState == nil {
				jobState = tx.StmtContext(ctx, s.jobState)
			}
			var existing string
			if err := jobState.QueryRowContext(ctx, ins.ID).Scan(&existing); err != nil {
				return nil, nil, b.fail("job enqueue "+ins.ID, err)
			}
			res.Jobs[i] = backend.EnqueueOutcome{ID: ins.ID, Duplicate: true, State: backend.JobState(existing)}
			continue
		}
		res.Jobs[i] = backend.EnqueueOutcome{ID: ins.ID, State: state}
		if !slices.Contains(queues, ins.Queue) {
			queues = append(queues, ins.Queue)
		}
		if state == backend.StateQueued && !slices.Contains(wake, ins.Queue) {
			wake = append(wake, ins.Queue)
		}
	}
	if len(queues) > 0 {
		ensure := tx.StmtContext(ctx, s.queueEnsure)
		defer ensure.Close()
		for _, q := range queues {
			if _, err := ensure.ExecContext(ctx, q); err != nil {
				return nil, nil, b.fail("job enqueue: queue "+q, err)
			}
		}
	}
	return res, wake, nil
}

// uniqueHolder finds the job holding key, if any: a job with that key in one
// of its own unique states.
func uniqueHolder(ctx context.Context, holder *sql.Stmt, key string) (id string, state backend.JobState, held bool, err error) {
	rows, err := holder.QueryContext(ctx, key)
	if err != nil {
		return "", "", false, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			j            = backend.Job{UniqueKey: key}
			st           string
			uniqueStates []byte
		)
		if err := rows.Scan(&j.ID, &st, &uniqueStates); err != nil {
			return "", "", false, err
		}
		j.State = backend.JobState(st)
		if len(uniqueStates) > 0 {
			if err := json.Unmarshal(uniqueStates, &j.UniqueStates); err != nil {
				return "", "", false, fmt.Errorf("job %s: unique_states: %w", j.ID, err)
			}
		}
		if j.HoldsUniqueKey() {
			return j.ID, j.State, true, nil
		}
	}
	return "", "", false, rows.Err()
}

// JobClaim claims and leases up to Limit jobs with one UPDATE … RETURNING
// (see queries/claim.sql). The single writer connection serializes claimers
// in this process and BEGIN IMMEDIATE across processes, so no two claimers
// ever get the same job.
//
// The statement runs in a transaction committed only once every row is
// read (updateReturning): in autocommit a claim that failed while its rows
// were read (its ctx ended) would still have leased the whole batch to
// nobody, each job then losing an attempt to the rescuer.
func (b *Backend) JobClaim(ctx context.Context, p *backend.JobClaimParams) (*backend.JobClaimResult, error) {
	s, err := b.ready()
	if err != nil {
		return nil, err
	}
	if p.Limit <= 0 {
		return &backend.JobClaimResult{}, nil
	}
	jobs := make([]*backend.Job, 0, min(p.Limit, 1024))
	err = b.updateReturning(ctx, "job claim", func(tx *sql.Tx) (*sql.Rows, error) {
		return tx.StmtContext(ctx, s.claim).QueryContext(ctx, p.Queue, ns(p.Now), p.Limit, p.Owner, ns(p.Now.Add(p.LeaseDuration)))
	}, func(rows *sql.Rows) error {
		j, err := scanClaimed(rows, p)
		if err == nil {
			jobs = append(jobs, j)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	// RETURNING has no defined order; hand jobs out in claim order.
	slices.SortFunc(jobs, func(x, y *backend.Job) int {
		if c := cmp.Compare(y.Priority, x.Priority); c != 0 {
			return c // not y-x: extreme priorities would overflow
		}
		if c := x.RunAt.Compare(y.RunAt); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return &backend.JobClaimResult{Jobs: jobs}, nil
}

// JobFinish applies every outcome in one transaction. Completions (the bulk
// of a busy worker's batches) are applied by one UPDATE … FROM (VALUES …)
// per up to 1024 jobs (see finish_completed_many.sql); the other outcomes,
// and every outcome of a batch in which a lease turns out lost, by one
// prepared, fenced UPDATE each (state running and the same lease token).
func (b *Backend) JobFinish(ctx context.Context, p *backend.JobFinishParams) (*backend.JobFinishResult, error) {
	s, err := b.ready()
	if err != nil {
		return nil, err
	}
	res := &backend.JobFinishResult{}
	if len(p.Jobs) == 0 {
		return res, nil
	}
	if bulk, rest := splitCompleted(p.Jobs); len(bulk) > 0 {
		r, ok, err := b.finishBulk(ctx, s, p, bulk, rest)
		if err != nil || ok {
			return r, err
		}
	}
	tx, err := b.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, b.fail("job finish", err)
	}
	defer tx.Rollback()
	wake, err := b.finishEach(ctx, s, tx, p.Jobs, p.Now, res)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, b.fail("job finish: commit", err)
	}
	b.wake(wake...)
	return res, nil
}

// finishEach applies outcomes one prepared statement each, in order, adds
// to res the IDs whose lease was lost and those a cancel request ended
// cancelled, and returns the queues to wake (due snoozes).
func (b *Backend) finishEach(ctx context.Context, s *stmts, tx *sql.Tx, outs []*backend.JobOutcome, nowT time.Time, res *backend.JobFinishResult) (wake []string, err error) {
	bound := map[*sql.Stmt]*sql.Stmt{}
	stmt := func(st *sql.Stmt) *sql.Stmt {
		if t := bound[st]; t != nil {
			return t
		}
		t := tx.StmtContext(ctx, st)
		bound[st] = t
		return t
	}
	defer func() {
		for _, t := range bound {
			t.Close()
		}
	}()
	now := ns(nowT)
	for _, o := range outs {
		var (
			r   sql.Result
			err error
		)
		switch o.Outcome {
		case backend.OutcomeCompleted:
			r, err = stmt(s.finishCompleted).ExecContext(ctx, o.ID, o.LeaseToken, jsonText(o.Result), now)
		case backend.OutcomeRetry:
			var e any
			if e, err = errorJSON(o.Error); err == nil {
				var cancelled bool
				err = stmt(s.finishRetry).QueryRowContext(ctx, o.ID, o.LeaseToken, ns(o.RunAt), e, now).Scan(&cancelled)
				if errors.Is(err, sql.ErrNoRows) {
					res.LeaseLost = append(res.LeaseLost, o.ID)
					continue
				}
				if err == nil && cancelled {
					res.Cancelled = append(res.Cancelled, o.ID)
				}
			}
		case backend.OutcomeFailed, backend.OutcomeCancelled:
			var e any
			if e, err = errorJSON(o.Error); err == nil {
				state := backend.StateFailed
				if o.Outcome == backend.OutcomeCancelled {
					state = backend.StateCancelled
				}
				r, err = stmt(s.finishFinal).ExecContext(ctx, o.ID, o.LeaseToken, string(state), e, now)
			}
		case backend.OutcomeSnoozed:
			var queue string
			var cancelled bool
			err = stmt(s.snoozed).QueryRowContext(ctx, o.ID, o.LeaseToken, ns(o.RunAt), now).Scan(&queue, &cancelled)
			if errors.Is(err, sql.ErrNoRows) {
				res.LeaseLost = append(res.LeaseLost, o.ID)
				continue
			}
			if err == nil && cancelled {
				res.Cancelled = append(res.Cancelled, o.ID)
			}
			if err == nil && !cancelled && !o.RunAt.After(nowT) && !slices.Contains(wake, queue) {
				wake = append(wake, queue)
			}
		default:
			return nil, fmt.Errorf("sqlite: job finish %s: unknown outcome %q", o.ID, o.Outcome)
		}
		if err != nil {
			return nil, b.fail("job finish "+o.ID, err)
		}
		if r == nil {
			continue
		}
		if n, err := r.RowsAffected(); err != nil {
			return nil, b.fail("job finish "+o.ID, err)
		} else if n == 0 {
			res.LeaseLost = append(res.LeaseLost, o.ID)
		}
	}
	return wake, nil
}

// JobRescue hands back running jobs whose lease expired, in one statement.
func (b *Backend) JobRescue(ctx context.Context, p *backend.JobRescueParams) (*backend.JobRescueResult, error) {
	if _, err := b.ready(); err != nil {
		return nil, err
	}
	res := &backend.JobRescueResult{}
	var wake []string
	err := b.updateReturning(ctx, "job rescue", func(tx *sql.Tx) (*sql.Rows, error) {
		return tx.QueryContext(ctx, sqlRescue, ns(p.Now), p.Now.UTC().Format(time.RFC3339Nano), limit(p.Limit))
	}, func(rows *sql.Rows) error {
		var j backend.RescuedJob
		var state string
		if err := rows.Scan(&j.ID, &j.Kind, &j.Queue, &state); err != nil {
			return err
		}
		j.State = backend.JobState(state)
		res.Jobs = append(res.Jobs, j)
		if j.State == backend.StateQueued && !slices.Contains(wake, j.Queue) {
			wake = append(wake, j.Queue)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	b.wake(wake...)
	return res, nil
}

// JobPromote moves due scheduled and retrying jobs to queued. Claims take due
// jobs anyway (Capabilities.NeedsPromoter is false); promoting keeps states
// tidy for people looking at them and wakes idle workers.
func (b *Backend) JobPromote(ctx context.Context, p *backend.JobPromoteParams) (*backend.JobPromoteResult, error) {
	if _, err := b.ready(); err != nil {
		return nil, err
	}
	res := &backend.JobPromoteResult{}
	var wake []string
	err := b.updateReturning(ctx, "job promote", func(tx *sql.Tx) (*sql.Rows, error) {
		return tx.QueryContext(ctx, sqlPromote, ns(p.Now), limit(p.Limit))
	}, func(rows *sql.Rows) error {
		var q string
		if err := rows.Scan(&q); err != nil {
			return err
		}
		res.Promoted++
		if !slices.Contains(wake, q) {
			wake = append(wake, q)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	b.wake(wake...)
	return res, nil
}

// updateReturning runs an UPDATE … RETURNING on the writer in a transaction
// committed only after every row was read by row: SQLite applies the whole
// UPDATE on its first step, so in autocommit an error while reading (a ctx
// that ended) would be reported for changes that stay (rescued jobs nobody
// hears of). On any error nothing changes.
func (b *Backend) updateReturning(ctx context.Context, op string, query func(*sql.Tx) (*sql.Rows, error), row func(*sql.Rows) error) error {
	tx, err := b.writer.BeginTx(ctx, nil)
	if err != nil {
		return b.fail(op, err)
	}
	defer tx.Rollback()
	rows, err := query(tx)
	if err != nil {
		return b.fail(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows); err != nil {
			return b.fail(op, err)
		}
	}
	if err := rows.Err(); err != nil {
		return b.fail(op, err)
	}
	rows.Close()
	if err := tx.Commit(); err != nil {
		return b.fail(op, err)
	}
	return nil
}

// limit turns a "0 means no limit" count into SQLite's LIMIT (-1 = none).
func limit(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// JobGet reads one job from the read pool.
func (b *Backend) JobGet(ctx context.Context, p *backend.JobGetParams) (*backend.Job, error) {
	s, err := b.ready()
	if err != nil {
		return nil, err
	}
	j, err := scanJob(s.readGet.QueryRowContext(ctx, p.ID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: job %s: %w", p.ID, backend.ErrNotFound)
	}
	if err != nil {
		return nil, b.fail("job get "+p.ID, err)
	}
	return j, nil
}

// JobList reads a page of jobs, newest first, from the read pool. The cursor
// is the ID of the last job of the previous page: IDs grow with enqueue
// time, so jobs inserted between pages land before the cursor and never
// shift later pages.
func (b *Backend) JobList(ctx context.Context, p *backend.JobListParams) (*backend.JobListResult, error) {
	if _, err := b.ready(); err != nil {
		return nil, err
	}
	n := p.PageSize()
	var (
		where []string
		args  []any
	)
	if len(p.States) > 0 {
		marks := make([]string, len(p.States))
		for i, s := range p.States {
			marks[i] = "?"
			args = append(args, string(s))
		}
		where = append(where, "state IN ("+strings.Join(marks, ", ")+")")
	}
	if p.Queue != "" {
		where = append(where, "queue = ?")
		args = append(args, p.Queue)
	}
	if p.Kind != "" {
		where = append(where, "kind = ?")
		args = append(args, p.Kind)
	}
	if p.Tag != "" {
		where = append(where, "tags IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(jobs.tags) WHERE json_each.value = ?)")
		args = append(args, p.Tag)
	}
	if !p.EnqueuedAfter.IsZero() {
		where = append(where, "enqueued_at >= ?")
		args = append(args, ns(p.EnqueuedAfter))
	}
	if !p.EnqueuedBefore.IsZero() {
		where = append(where, "enqueued_at < ?")
		args = append(args, ns(p.EnqueuedBefore))
	}
	if p.Cursor != "" {
		where = append(where, "id < ?")
		args = append(args, p.Cursor)
	}
	q := sqlJobList
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, n+1) // one more tells whether there is a next page
	rows, err := b.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, b.fail("job list", err)
	}
	jobs, err := scanJobs(rows, n+1)
	if err != nil {
		return nil, b.fail("job list", err)
	}
	res := &backend.JobListResult{Jobs: jobs}
	if len(jobs) > n {
		res.Jobs = jobs[:n]
		res.NextCursor = jobs[n-1].ID
	}
	return res, nil
}

// JobCancel cancels a job (see queries/job_cancel.sql); the follow-up read
// that tells ErrNotFound from ErrWrongState runs in the same transaction.
func (b *Backend) JobCancel(ctx context.Context, p *backend.JobCancelParams) (*backend.Job, error) {
	return b.changeJob(ctx, "job cancel", sqlJobCancel, p.ID, p.Now, false)
}

// JobRetry makes a finished job queued again, or a waiting one due now
// (see queries/job_retry.sql), and wakes its queue.
func (b *Backend) JobRetry(ctx context.Context, p *backend.JobRetryParams) (*backend.Job, error) {
	return b.changeJob(ctx, "job retry", sqlJobRetry, p.ID, p.Now, true)
}

// changeJob runs a single-job UPDATE … RETURNING in a transaction; no row
// means the job is missing (ErrNotFound) or in the wrong state.
func (b *Backend) changeJob(ctx context.Context, op, query, id string, now time.Time, wakeQueue bool) (*backend.Job, error) {
	if _, err := b.ready(); err != nil {
		return nil, err
	}
	tx, err := b.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, b.fail(op, err)
	}
	defer tx.Rollback()
	j, err := scanJob(tx.QueryRowContext(ctx, query, id, ns(now)))
	if errors.Is(err, sql.ErrNoRows) {
		var state string
		err := tx.QueryRowContext(ctx, sqlJobState, id).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("sqlite: %s %s: %w", op, id, backend.ErrNotFound)
		}
		if err != nil {
			return nil, b.fail(op+" "+id, err)
		}
		return nil, fmt.Errorf("sqlite: %s %s (state %s): %w", op, id, state, backend.ErrWrongState)
	}
	if err != nil {
		return nil, b.fail(op+" "+id, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, b.fail(op+" "+id+": commit", err)
	}
	if wakeQueue {
		b.wake(j.Queue)
	}
	return j, nil
}

// JobDelete removes a job that is not running.
func (b *Backend) JobDelete(ctx context.Context, p *backend.JobDeleteParams) error {
	if _, err := b.ready(); err != nil {
		return err
	}
	tx, err := b.writer.BeginTx(ctx, nil)
	if err != nil {
		return b.fail("job delete", err)
	}
	defer tx.Rollback()
	r, err := tx.ExecContext(ctx, sqlJobDelete, p.ID)
	if err != nil {
		return b.fail("job delete "+p.ID, err)
	}
	if n, err := r.RowsAffected(); err != nil {
		return b.fail("job delete "+p.ID, err)
	} else if n == 0 {
		var state string
		err := tx.QueryRowContext(ctx, sqlJobState, p.ID).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite: job delete %s: %w", p.ID, backend.ErrNotFound)
		}
		if err != nil {
			return b.fail("job delete "+p.ID, err)
		}
		return fmt.Errorf("sqlite: job delete %s (state %s): %w", p.ID, state, backend.ErrWrongState)
	}
	if err := tx.Commit(); err != nil {
		return b.fail("job delete "+p.ID+": commit", err)
	}
	return nil
}

// JobPrune deletes up to Limit jobs in a final state that finished before
// FinishedBefore. A non-final State deletes nothing.
func (b *Backend) JobPrune(ctx context.Context, p *backend.JobPruneParams) (*backend.JobPruneResult, error) {
	if _, err := b.ready(); err != nil {
		return nil, err
	}
	if p.FinishedBefore.IsZero() {
		return &backend.JobPruneResult{}, nil // nothing finished before the zero time
	}
	r, err := b.writer.ExecContext(ctx, sqlJobPrune, string(p.State), ns(p.FinishedBefore), limit(p.Limit))
	if err != nil {
		return nil, b.fail("job prune", err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return nil, b.fail("job prune", err)
	}
	return &backend.JobPruneResult{Deleted: int(n)}, nil
}
