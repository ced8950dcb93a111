package backendtest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"conveyor/backend"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// base is the suite's "now" origin: far from the wall clock, so a backend
// that reads time.Now instead of the params' Now fails the suite.
var base = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// at returns base+d.
func at(d time.Duration) time.Time { return base.Add(d) }

// Defaults of the jobs the suite enqueues.
const (
	testKind  = "test.noop"
	leaseTTL  = 30 * time.Second
	testOwner = "worker-1"
)

// harness bundles a backend under test with its test.
type harness struct {
	t   *testing.T
	b   backend.Backend
	ctx context.Context
}

// setup marks the test parallel and returns a harness over a fresh backend.
func setup(t *testing.T, f Factory) *harness {
	t.Helper()
	t.Parallel()
	b := f(t)
	require.NotNil(t, b, "factory returned a nil backend")
	return &harness{t: t, b: b, ctx: t.Context()}
}

// newID returns a UUIDv7, as the client assigns. Successive calls from one
// goroutine sort in call order.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// job returns an insert for queue with the suite's defaults (run_at base),
// changed by mods.
func job(queue string, mods ...func(*backend.JobInsert)) *backend.JobInsert {
	j := &backend.JobInsert{
		ID:          newID(),
		Kind:        testKind,
		Queue:       queue,
		Args:        json.RawMessage(`{"n":1}`),
		MaxAttempts: 3,
		Timeout:     time.Minute,
		RunAt:       base,
	}
	for _, m := range mods {
		m(j)
	}
	return j
}

func withPriority(p int) func(*backend.JobInsert) {
	return func(j *backend.JobInsert) { j.Priority = p }
}

func withRunAt(t time.Time) func(*backend.JobInsert) {
	return func(j *backend.JobInsert) { j.RunAt = t }
}

func withMaxAttempts(n int) func(*backend.JobInsert) {
	return func(j *backend.JobInsert) { j.MaxAttempts = n }
}

func withUnique(key string, states ...backend.JobState) func(*backend.JobInsert) {
	return func(j *backend.JobInsert) { j.UniqueKey, j.UniqueStates = key, states }
}

func withKind(kind string) func(*backend.JobInsert) {
	return func(j *backend.JobInsert) { j.Kind = kind }
}

func withTags(tags ...string) func(*backend.JobInsert) {
	return func(j *backend.JobInsert) { j.Tags = tags }
}

// enqueue stores jobs at now and returns the outcomes.
func (h *harness) enqueue(now time.Time, jobs ...*backend.JobInsert) []backend.EnqueueOutcome {
	h.t.Helper()
	res, err := h.b.JobEnqueue(h.ctx, &backend.JobEnqueueParams{Jobs: jobs, Now: now})
	require.NoError(h.t, err)
	require.Len(h.t, res.Jobs, len(jobs), "one outcome per insert")
	return res.Jobs
}

// add enqueues jobs at now, requires each to be stored (not a duplicate)
// and returns their IDs.
func (h *harness) add(now time.Time, jobs ...*backend.JobInsert) []string {
	h.t.Helper()
	ids := make([]string, len(jobs))
	for i, o := range h.enqueue(now, jobs...) {
		require.False(h.t, o.Duplicate, "job %d reported as a duplicate", i)
		require.Equal(h.t, jobs[i].ID, o.ID)
		ids[i] = o.ID
	}
	return ids
}

// addOne enqueues one job at base and returns its ID.
func (h *harness) addOne(queue string, mods ...func(*backend.JobInsert)) string {
	h.t.Helper()
	return h.add(base, job(queue, mods...))[0]
}

// claim claims up to limit jobs of queue at now as testOwner.
func (h *harness) claim(queue string, limit int, now time.Time) []*backend.Job {
	h.t.Helper()
	return h.claimAs(testOwner, queue, limit, now)
}

func (h *harness) claimAs(owner, queue string, limit int, now time.Time) []*backend.Job {
	h.t.Helper()
	res, err := h.b.JobClaim(h.ctx, &backend.JobClaimParams{
		Queue: queue, Limit: limit, Owner: owner, LeaseDuration: leaseTTL, Now: now,
	})
	require.NoError(h.t, err)
	require.LessOrEqual(h.t, len(res.Jobs), limit, "claim returned more than Limit")
	return res.Jobs
}

// claimOne claims exactly one job of queue at now and requires it to be id
// (when id is not empty).
func (h *harness) claimOne(queue, id string, now time.Time) *backend.Job {
	h.t.Helper()
	jobs := h.claim(queue, 1, now)
	require.Len(h.t, jobs, 1, "expected a claimable job in %s at %s", queue, now)
	if id != "" {
		require.Equal(h.t, id, jobs[0].ID)
	}
	return jobs[0]
}

// requireNoClaim requires queue to yield nothing at now.
func (h *harness) requireNoClaim(queue string, now time.Time) {
	h.t.Helper()
	jobs := h.claim(queue, 100, now)
	require.Empty(h.t, jobs, "expected nothing claimable in %s at %s", queue, now)
}

// finish reports outcomes at now and returns the IDs rejected by the fence.
func (h *harness) finish(now time.Time, outcomes ...*backend.JobOutcome) []string {
	h.t.Helper()
	res, err := h.b.JobFinish(h.ctx, &backend.JobFinishParams{Jobs: outcomes, Now: now})
	require.NoError(h.t, err)
	return res.LeaseLost
}

// finishOK reports outcomes at now and requires every one to be accepted.
func (h *harness) finishOK(now time.Time, outcomes ...*backend.JobOutcome) {
	h.t.Helper()
	require.Empty(h.t, h.finish(now, outcomes...), "outcomes rejected as LeaseLost")
}

// complete builds an OutcomeCompleted for a claimed job.
func complete(j *backend.Job, result string) *backend.JobOutcome {
	o := &backend.JobOutcome{ID: j.ID, LeaseToken: j.LeaseToken, Outcome: backend.OutcomeCompleted}
	if result != "" {
		o.Result = json.RawMessage(result)
	}
	return o
}

// outcome builds an outcome other than completed for a claimed job, with an
// AttemptError (dated at the claim) when msg is set.
func outcome(j *backend.Job, kind backend.Outcome, runAt time.Time, msg string) *backend.JobOutcome {
	o := &backend.JobOutcome{ID: j.ID, LeaseToken: j.LeaseToken, Outcome: kind, RunAt: runAt}
	if msg != "" {
		o.Error = &backend.AttemptError{Attempt: j.Attempt, At: j.StartedAt, Message: msg}
	}
	return o
}

// get returns a job, which must exist.
func (h *harness) get(id string) *backend.Job {
	h.t.Helper()
	j, err := h.b.JobGet(h.ctx, &backend.JobGetParams{ID: id})
	require.NoError(h.t, err)
	require.NotNil(h.t, j)
	require.Equal(h.t, id, j.ID)
	return j
}

// requireGone requires JobGet to report ErrNotFound.
func (h *harness) requireGone(id string) {
	h.t.Helper()
	_, err := h.b.JobGet(h.ctx, &backend.JobGetParams{ID: id})
	require.ErrorIs(h.t, err, backend.ErrNotFound)
}

// requireState requires the job to be in state s.
func (h *harness) requireState(id string, s backend.JobState) *backend.Job {
	h.t.Helper()
	j := h.get(id)
	require.Equal(h.t, s, j.State, "state of job %s", id)
	return j
}

// queueInfo returns the QueueList entry of name at now, which must exist.
func (h *harness) queueInfo(name string, now time.Time) backend.QueueInfo {
	h.t.Helper()
	res, err := h.b.QueueList(h.ctx, &backend.QueueListParams{Now: now})
	require.NoError(h.t, err)
	for _, q := range res.Queues {
		if q.Name == name {
			return q
		}
	}
	require.Failf(h.t, "queue missing", "QueueList has no queue %q", name)
	return backend.QueueInfo{}
}

// requireTime requires got to be want within 1 ms (backends may store
// milliseconds), and both zero or both set.
func requireTime(t *testing.T, want, got time.Time, field string) {
	t.Helper()
	if want.IsZero() {
		require.True(t, got.IsZero(), "%s: want zero time, got %s", field, got)
		return
	}
	require.False(t, got.IsZero(), "%s: want %s, got zero time", field, want)
	require.WithinDuration(t, want, got, time.Millisecond, field)
}

// requireLeaseCleared requires the lease fields of a job that left running
// to be empty.
func requireLeaseCleared(t *testing.T, j *backend.Job) {
	t.Helper()
	require.Empty(t, j.LeaseOwner, "LeaseOwner after leaving running")
	require.Empty(t, j.LeaseToken, "LeaseToken after leaving running")
	requireTime(t, time.Time{}, j.LeaseExpiresAt, "LeaseExpiresAt after leaving running")
}

// queueName makes a queue name unique to a check, in the alphabet every
// backend accepts ([a-z0-9-]).
func queueName(prefix string, n int) string { return fmt.Sprintf("%s-%d", prefix, n) }
