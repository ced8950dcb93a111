package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"conveyor/backend"
)

// claimFields are the job hash fields claim.lua returns, after the
// previous attempt, for a job that has no claim body (see claim.lua).
var claimFields = []string{"d", "g", "m", "ma", "r", "e", "res", "pg", "cr"}

// JobClaim implements backend.Jobs with one script call.
func (b *Backend) JobClaim(ctx context.Context, p *backend.JobClaimParams) (*backend.JobClaimResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	if p.Limit <= 0 {
		return &backend.JobClaimResult{}, nil
	}
	now := now(p.Now)
	var rnd [12]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("claim: lease token: %w", err)
	}
	exp := now.Add(p.LeaseDuration)
	lease := leaseField(now, exp, p.Owner)
	tail := hex.EncodeToString(rnd[:]) + "."
	tokenBase := p.Queue + "|" + tail
	args := append(b.commonArgs(p.Queue, 7), lease, usStr(now), p.Limit,
		tokenBase, usStr(exp), b.batch, tail)
	vals, err := b.run(ctx, scriptClaim, p.Queue, args).Slice()
	if err != nil {
		return nil, fmt.Errorf("claim from %s: %w", p.Queue, err)
	}
	const per = 3 // see claim.lua's reply
	res := &backend.JobClaimResult{Jobs: make([]*backend.Job, 0, len(vals)/per)}
	var dec jobDecoder
	var unreadable []*backend.JobOutcome
	for at := 0; at+per <= len(vals); at += per {
		id, _ := vals[at].(string)
		n, _ := vals[at+1].(int64)
		token := tokenBase + strconv.FormatInt(n, 10)
		j, attempt, err := claimedJob(&dec, id, p.Queue, vals[at+2], jobFields{s: string(backend.StateRunning), lt: token, L: lease})
		if err != nil {
			// Claimed, so it is running under this call's lease: fail it
			// with the reason rather than fail the whole call, which would
			// leave the batch's readable jobs running unseen until their
			// leases ran out, each losing an attempt.
			unreadable = append(unreadable, &backend.JobOutcome{ID: id, LeaseToken: token, Outcome: backend.OutcomeFailed,
				Error: &backend.AttemptError{Attempt: int(attempt + 1), At: now,
					Message: fmt.Sprintf("conveyor: the stored job cannot be read: %v", err)}})
			continue
		}
		j.Attempt = int(attempt + 1) // the claim's own change, not in the reply
		res.Jobs = append(res.Jobs, j)
	}
	if len(unreadable) > 0 {
		// If this fails too, those jobs are rescued when their leases end.
		_, _ = b.JobFinish(ctx, &backend.JobFinishParams{Jobs: unreadable, Now: now})
	}
	return res, nil
}

// claimedJob decodes one job of claim.lua's reply: its claim body (never
// claimed since enqueue) or its hash's claimFields, over the lease fields
// in f. It returns the attempt before this claim.
func claimedJob(dec *jobDecoder, id, queue string, reply any, f jobFields) (*backend.Job, int64, error) {
	var attempt int64
	switch v := reply.(type) {
	case string:
		if err := parseBody(v, &f); err != nil {
			return nil, 0, fmt.Errorf("job %s: %w", id, err)
		}
	case []any:
		if len(v) != 1+len(claimFields) {
			return nil, 0, fmt.Errorf("job %s: %d fields", id, len(v))
		}
		prev, _ := v[0].(string)
		var err error
		if attempt, err = strconv.ParseInt(prev, 10, 64); err != nil {
			return nil, 0, fmt.Errorf("job %s: bad attempt %q", id, prev)
		}
		for k, name := range claimFields {
			s, _ := v[1+k].(string)
			f.set(name, s)
		}
	default:
		return nil, 0, fmt.Errorf("job %s: unexpected reply %T", id, v)
	}
	j, err := dec.decode(id, queue, &f)
	return j, attempt, err
}

// JobFinish implements backend.Jobs: one script call per queue named by the
// lease tokens (usually one), pipelined.
func (b *Backend) JobFinish(ctx context.Context, p *backend.JobFinishParams) (*backend.JobFinishResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	res := &backend.JobFinishResult{}
	now := now(p.Now)
	var queues []string
	// Per queue: the short-form members of plain completions and the
	// 7-value records of the rest (see finish.lua).
	shortByQueue, longByQueue := map[string][]any{}, map[string][]any{}
	for _, o := range p.Jobs {
		q, ok := queueOfToken(o.LeaseToken)
		if !ok {
			res.LeaseLost = append(res.LeaseLost, o.ID)
			continue
		}
		if _, seen := shortByQueue[q]; !seen {
			queues = append(queues, q)
			shortByQueue[q] = make([]any, 0, len(p.Jobs))
		}
		member := runningMember(o.LeaseToken, o.ID)
		var result, errJSON string
		if o.Outcome == backend.OutcomeCompleted && len(o.Result) > 0 {
			result = string(o.Result)
		}
		if o.Error != nil {
			e, err := json.Marshal(o.Error)
			if err != nil {
				return nil, fmt.Errorf("finish %s: encode error: %w", o.ID, err)
			}
			errJSON = string(e)
		}
		switch o.Outcome {
		case backend.OutcomeCompleted, backend.OutcomeRetry, backend.OutcomeFailed, backend.OutcomeCancelled, backend.OutcomeSnoozed:
		default:
			return nil, fmt.Errorf("finish %s: unknown outcome %q", o.ID, o.Outcome)
		}
		if o.Outcome == backend.OutcomeCompleted && result == "" && errJSON == "" {
			shortByQueue[q] = append(shortByQueue[q], member)
			continue
		}
		runAt := o.RunAt
		if runAt.IsZero() {
			runAt = now
		}
		longByQueue[q] = append(longByQueue[q], member, string(o.Outcome), result, errJSON,
			nsStr(runAt), usStr(runAt), rsStr(runAt))
	}
	argsByQueue := make(map[string][]any, len(queues))
	for _, q := range queues {
		short, long := shortByQueue[q], longByQueue[q]
		args := append(b.commonArgs(q, 3+len(short)+len(long)), nsStr(now), usStr(now), len(short))
		argsByQueue[q] = append(append(args, short...), long...)
	}
	replies, err := b.runPerQueue(ctx, scriptFinish, queues, argsByQueue)
	if err != nil {
		return nil, fmt.Errorf("finish: %w", err)
	}
	ids := func(v any) (out []string) { // one list of IDs of finish.lua's reply
		arr, _ := v.([]any)
		for _, id := range arr {
			s, _ := id.(string)
			out = append(out, s)
		}
		return out
	}
	for _, v := range replies {
		pair, _ := v.([]any) // {lost, cancelled}
		if len(pair) != 2 {
			return nil, fmt.Errorf("finish: script returned %d lists, want 2", len(pair))
		}
		res.LeaseLost = append(res.LeaseLost, ids(pair[0])...)
		res.Cancelled = append(res.Cancelled, ids(pair[1])...)
	}
	return res, nil
}

// runPerQueue runs one script per queue: directly when there is one queue,
// else pipelined in one round trip. It returns each call's reply in order.
func (b *Backend) runPerQueue(ctx context.Context, s *goredis.Script, queues []string, args map[string][]any) ([]any, error) {
	out := make([]any, len(queues))
	if len(queues) == 1 {
		v, err := b.run(ctx, s, queues[0], args[queues[0]]).Result()
		if err != nil {
			return nil, err
		}
		out[0] = v
		return out, nil
	}
	if len(queues) == 0 {
		return out, nil
	}
	cmds := make([]*goredis.Cmd, len(queues))
	if _, err := b.pipeline(ctx, func(pipe goredis.Pipeliner) {
		for i, q := range queues {
			cmds[i] = s.EvalSha(ctx, pipe, b.queueKeys(q), args[q]...)
		}
	}); err != nil {
		return nil, err
	}
	for i, c := range cmds {
		v, err := c.Result()
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// LeaseExtend implements backend.Leases: one script call per queue named by
// the lease tokens (usually one).
func (b *Backend) LeaseExtend(ctx context.Context, p *backend.LeaseExtendParams) (*backend.LeaseExtendResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	res := &backend.LeaseExtendResult{}
	now := now(p.Now)
	exp := now.Add(p.Duration)
	var queues []string
	argsByQueue := map[string][]any{}
	idsByQueue := map[string][]string{}
	for _, l := range p.Leases {
		q, ok := queueOfToken(l.LeaseToken)
		if !ok {
			res.Lost = append(res.Lost, l.ID)
			continue
		}
		args, seen := argsByQueue[q]
		if !seen {
			queues = append(queues, q)
			args = append(b.commonArgs(q, 2+3*len(p.Leases)), nsStr(exp), usStr(exp))
		}
		argsByQueue[q] = append(args, l.ID, l.LeaseToken, []byte(l.Progress))
		idsByQueue[q] = append(idsByQueue[q], l.ID)
	}
	replies, err := b.runPerQueue(ctx, scriptLeaseExtend, queues, argsByQueue)
	if err != nil {
		return nil, fmt.Errorf("extend leases: %w", err)
	}
	for i, q := range queues {
		codes, _ := replies[i].([]any)
		for n, id := range idsByQueue[q] {
			var code int64
			if n < len(codes) {
				code, _ = codes[n].(int64)
			}
			switch code {
			case 0:
				res.Lost = append(res.Lost, id)
			case 2:
				res.CancelRequested = append(res.CancelRequested, id)
			}
		}
	}
	return res, nil
}

// leaseExpiredMessage is the attempt error JobRescue records.
const leaseExpiredMessage = "lease expired: the worker stopped heartbeating (crashed, killed or cut off)"

// JobRescue implements backend.Jobs: one script call per queue and batch.
func (b *Backend) JobRescue(ctx context.Context, p *backend.JobRescueParams) (*backend.JobRescueResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	now := now(p.Now)
	queues, err := b.allQueues(ctx)
	if err != nil {
		return nil, fmt.Errorf("rescue: %w", err)
	}
	msg, _ := json.Marshal(leaseExpiredMessage)
	res := &backend.JobRescueResult{}
	for _, q := range queues {
		for {
			n := b.batchLimit(p.Limit, len(res.Jobs))
			if n == 0 {
				return res, nil
			}
			args := append(b.commonArgs(q, 6), nsStr(now), usStr(now), rsStr(now), n,
				now.UTC().Format(time.RFC3339Nano), msg)
			vals, err := b.run(ctx, scriptRescue, q, args).Slice()
			if err != nil {
				return nil, fmt.Errorf("rescue %s: %w", q, err)
			}
			for i := 0; i+2 < len(vals); i += 3 {
				id, _ := vals[i].(string)
				static, _ := vals[i+1].(string)
				kind := kindOf(static)
				state, _ := vals[i+2].(string)
				res.Jobs = append(res.Jobs, backend.RescuedJob{ID: id, Kind: kind, Queue: q, State: backend.JobState(state)})
			}
			if len(vals)/3 < n {
				break
			}
		}
	}
	return res, nil
}

// batchLimit is the size of the next maintenance batch given the caller's
// limit (0 = none) and what was done so far; 0 means stop.
func (b *Backend) batchLimit(limit, done int) int {
	if limit <= 0 {
		return b.batch
	}
	return min(b.batch, limit-done)
}

// JobPromote implements backend.Jobs (JobClaim promotes due jobs itself; this
// keeps states honest for QueueList and wakes idle workers).
func (b *Backend) JobPromote(ctx context.Context, p *backend.JobPromoteParams) (*backend.JobPromoteResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	now := now(p.Now)
	queues, err := b.allQueues(ctx)
	if err != nil {
		return nil, fmt.Errorf("promote: %w", err)
	}
	res := &backend.JobPromoteResult{}
	if p.Limit <= 0 {
		// No limit (the promoter's periodic call): every queue in one
		// pipelined round trip, again for the queues that filled a batch.
		for len(queues) > 0 {
			cmds := make([]*goredis.Cmd, len(queues))
			if _, err := b.pipeline(ctx, func(pipe goredis.Pipeliner) {
				for i, q := range queues {
					cmds[i] = scriptPromote.EvalSha(ctx, pipe, b.queueKeys(q), append(b.commonArgs(q, 2), usStr(now), b.batch)...)
				}
			}); err != nil {
				return nil, fmt.Errorf("promote: %w", err)
			}
			var more []string
			for i, c := range cmds {
				got, err := c.Int()
				if err != nil {
					return nil, fmt.Errorf("promote %s: %w", queues[i], err)
				}
				res.Promoted += got
				if got == b.batch {
					more = append(more, queues[i])
				}
			}
			queues = more
		}
		return res, nil
	}
	for _, q := range queues {
		for {
			n := b.batchLimit(p.Limit, res.Promoted)
			if n == 0 {
				return res, nil
			}
			got, err := b.run(ctx, scriptPromote, q, append(b.commonArgs(q, 2), usStr(now), n)).Int()
			if err != nil {
				return nil, fmt.Errorf("promote %s: %w", q, err)
			}
			res.Promoted += got
			if got < n {
				break
			}
		}
	}
	return res, nil
}

// JobGet implements backend.Jobs.
func (b *Backend) JobGet(ctx context.Context, p *backend.JobGetParams) (*backend.Job, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	q, err := b.lookupQueue(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	vals, err := b.run(ctx, scriptJobGet, q, append(b.commonArgs(q, 1), p.ID)).Slice()
	if err != nil {
		return nil, fmt.Errorf("get job %s: %w", p.ID, err)
	}
	var h []any
	if len(vals) == 1 {
		h, _ = vals[0].([]any)
	}
	if len(h) == 0 {
		return nil, fmt.Errorf("job %s: %w", p.ID, backend.ErrNotFound)
	}
	return decodeJob(p.ID, q, fieldsFromPairs(h))
}

// jobAction runs one of the single-job scripts (cancel, retry) that reply
// {code, ...}: 0 not found, 1 done with the job hash, 2 wrong state.
func (b *Backend) jobAction(ctx context.Context, what string, s *goredis.Script, id string, extra ...any) (*backend.Job, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	q, err := b.lookupQueue(ctx, id)
	if err != nil {
		return nil, err
	}
	args := append(append(b.commonArgs(q, 1+len(extra)), id), extra...)
	vals, err := b.run(ctx, s, q, args).Slice()
	if err != nil {
		return nil, fmt.Errorf("%s job %s: %w", what, id, err)
	}
	code, _ := vals[0].(int64)
	switch code {
	case 0:
		return nil, fmt.Errorf("%s job %s: %w", what, id, backend.ErrNotFound)
	case 2:
		state, _ := vals[1].(string)
		return nil, fmt.Errorf("%s job %s in state %s: %w", what, id, state, backend.ErrWrongState)
	}
	arr, _ := vals[1].([]any)
	return decodeJob(id, q, fieldsFromPairs(arr))
}

// JobCancel implements backend.Jobs.
func (b *Backend) JobCancel(ctx context.Context, p *backend.JobCancelParams) (*backend.Job, error) {
	now := now(p.Now)
	return b.jobAction(ctx, "cancel", scriptCancel, p.ID, nsStr(now), usStr(now))
}

// JobRetry implements backend.Jobs.
func (b *Backend) JobRetry(ctx context.Context, p *backend.JobRetryParams) (*backend.Job, error) {
	now := now(p.Now)
	return b.jobAction(ctx, "retry", scriptRetry, p.ID, nsStr(now), rsStr(now))
}

// JobDelete implements backend.Jobs.
func (b *Backend) JobDelete(ctx context.Context, p *backend.JobDeleteParams) error {
	if err := b.check(); err != nil {
		return err
	}
	q, err := b.lookupQueue(ctx, p.ID)
	if err != nil {
		return err
	}
	code, err := b.run(ctx, scriptDelete, q, append(b.commonArgs(q, 1), p.ID)).Int()
	if err != nil {
		return fmt.Errorf("delete job %s: %w", p.ID, err)
	}
	switch code {
	case 0:
		return fmt.Errorf("job %s: %w", p.ID, backend.ErrNotFound)
	case 2:
		return fmt.Errorf("delete job %s in state running: %w", p.ID, backend.ErrWrongState)
	}
	return nil
}

// finalSetIndex maps a final state to its KEYS index (1-based, for Lua).
var finalSetIndex = map[backend.JobState]int{
	backend.StateCompleted: kCompleted + 1,
	backend.StateFailed:    kFailed + 1,
	backend.StateCancelled: kCancelled + 1,
}

// JobPrune implements backend.Jobs.
func (b *Backend) JobPrune(ctx context.Context, p *backend.JobPruneParams) (*backend.JobPruneResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	idx, ok := finalSetIndex[p.State]
	if !ok {
		return nil, fmt.Errorf("prune: state %q is not final: %w", p.State, backend.ErrWrongState)
	}
	queues, err := b.allQueues(ctx)
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	res := &backend.JobPruneResult{}
	for _, q := range queues {
		for {
			n := b.batchLimit(p.Limit, res.Deleted)
			if n == 0 {
				return res, nil
			}
			args := append(b.commonArgs(q, 3), idx, usStr(p.FinishedBefore), n)
			ids, err := b.run(ctx, scriptPrune, q, args).StringSlice()
			if err != nil {
				return nil, fmt.Errorf("prune %s: %w", q, err)
			}
			res.Deleted += len(ids)
			if len(ids) < n {
				break
			}
		}
	}
	return res, nil
}

// JobList implements backend.Jobs. Each queue keeps its job IDs in a
// lexicographic index (UUIDv7 IDs sort by time); JobList merges the indexes
// of the queues it looks at newest first, fetching records in pipelined
// chunks and filtering them until the page is full. The cursor is the last
// ID returned: later pages start strictly below it, so inserts (newer IDs)
// never shift them.
func (b *Backend) JobList(ctx context.Context, p *backend.JobListParams) (*backend.JobListResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	limit := p.PageSize()
	queues := []string{p.Queue}
	if p.Queue == "" {
		var err error
		if queues, err = b.allQueues(ctx); err != nil {
			return nil, err
		}
	}
	upper := "+"
	if p.Cursor != "" {
		upper = "(" + p.Cursor
	}
	chunk := int64(min(max(limit*2, 100), 1000))
	res := &backend.JobListResult{}
	for len(queues) > 0 {
		heads := make([]*goredis.StringSliceCmd, len(queues))
		if _, err := b.pipeline(ctx, func(pipe goredis.Pipeliner) {
			for i, q := range queues {
				heads[i] = pipe.ZRevRangeByLex(ctx, b.queueKeys(q)[kIDs], &goredis.ZRangeBy{Min: "-", Max: upper, Count: chunk})
			}
		}); err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		// IDs at or above the boundary are complete: every queue that may
		// hold more below its chunk was cut at or below it.
		type ref struct{ id, queue string }
		var refs []ref
		boundary := ""
		for i := range queues {
			if ids := heads[i].Val(); int64(len(ids)) == chunk && ids[len(ids)-1] > boundary {
				boundary = ids[len(ids)-1]
			}
		}
		var live []string // queues that may hold IDs below the boundary
		for i, q := range queues {
			ids := heads[i].Val()
			if len(ids) > 0 && (int64(len(ids)) == chunk || ids[len(ids)-1] < boundary) {
				live = append(live, q)
			}
			for _, id := range ids {
				refs = append(refs, ref{id: id, queue: q})
			}
		}
		refs = slices.DeleteFunc(refs, func(r ref) bool { return r.id < boundary })
		slices.SortFunc(refs, func(a, b ref) int { return strings.Compare(b.id, a.id) })
		ids := make([]string, len(refs))
		queueOf := make([]string, len(refs))
		for i, r := range refs {
			ids[i], queueOf[i] = r.id, r.queue
		}
		records, err := b.readJobs(ctx, ids, queueOf)
		if err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		for i, r := range refs {
			f := records[i]
			if f == nil {
				continue // deleted meanwhile
			}
			j, err := decodeJob(r.id, r.queue, f)
			if err != nil {
				// One unreadable record (written by hand, or by an older
				// layout) must not make every listing fail; JobGet still
				// reports it.
				continue
			}
			if !matches(j, p) {
				continue
			}
			if len(res.Jobs) == limit {
				res.NextCursor = res.Jobs[limit-1].ID
				return res, nil
			}
			res.Jobs = append(res.Jobs, j)
		}
		if boundary == "" {
			return res, nil // every queue's index is exhausted
		}
		upper = "(" + boundary
		queues = live
	}
	return res, nil
}

func matches(j *backend.Job, p *backend.JobListParams) bool {
	if len(p.States) > 0 && !slices.Contains(p.States, j.State) {
		return false
	}
	if p.Kind != "" && j.Kind != p.Kind {
		return false
	}
	if p.Tag != "" && !slices.Contains(j.Tags, p.Tag) {
		return false
	}
	if !p.EnqueuedAfter.IsZero() && j.EnqueuedAt.Before(p.EnqueuedAfter) {
		return false
	}
	if !p.EnqueuedBefore.IsZero() && !j.EnqueuedAt.Before(p.EnqueuedBefore) {
		return false
	}
	return true
}
