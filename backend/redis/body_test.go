package redis

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"conveyor/backend"
)

// TestClaimBodyMatchesHash: a job claimed from the claim body its ready
// member carries reads exactly like one claimed from its hash (a job
// enqueued before layout 4, whose member is RUNAT..ID alone).
func TestClaimBodyMatchesHash(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	q := "body"
	mod := func(j *backend.JobInsert) {
		j.Args = json.RawMessage(`{"n":[1,2,3],"s":"x|y:z"}`)
		j.Meta = json.RawMessage(`{"trace":"t"}`)
		j.Tags = []string{"a", "b"}
		j.Priority = 2
		j.MaxAttempts = 7
		j.UniqueKey = "u1"
		j.RunAt = t0.Add(-time.Second + 123)
	}
	withBody, noBody := insert(q, mod), insert(q, mod, func(j *backend.JobInsert) { j.UniqueKey = "u2" })
	enqueue(t, b, t0, withBody, noBody)
	ready := b.queueKeys(q)[kReady]
	members, err := b.rdb.ZRangeWithScores(ctx, ready, 0, -1).Result()
	require.NoError(t, err)
	require.Len(t, members, 2)
	for _, m := range members {
		mem := m.Member.(string)
		require.Contains(t, mem, "\x00", "a fresh job's member carries its claim body")
		if strings.Contains(mem, noBody.ID) { // as a layout-3 enqueue left it
			require.NoError(t, b.rdb.ZRem(ctx, ready, mem).Err())
			plain, _, _ := strings.Cut(mem, "\x00")
			require.NoError(t, b.rdb.ZAdd(ctx, ready, goredis.Z{Score: m.Score, Member: plain}).Err())
		}
	}

	jobs := claim(t, b, q, 2, t0, time.Minute)
	require.Len(t, jobs, 2)
	a, c := *jobs[0], *jobs[1]
	require.Equal(t, withBody.ID, a.ID)
	require.Equal(t, noBody.ID, c.ID)
	require.Equal(t, 1, a.Attempt)
	require.JSONEq(t, string(withBody.Args), string(a.Args))
	require.JSONEq(t, string(withBody.Meta), string(a.Meta))
	require.Equal(t, withBody.RunAt, a.RunAt)
	c.ID, c.LeaseToken, c.UniqueKey = a.ID, a.LeaseToken, a.UniqueKey
	require.Equal(t, a, c)
}

// TestClaimBodyDroppedOnRetry: a job retried before its first claim (a
// scheduled one made due now) is claimed with its new run_at, not the one
// its claim body recorded at enqueue; a cancelled one gets no stale body
// either.
func TestClaimBodyDroppedOnRetry(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	q := "bodyretry"
	later := insert(q, func(j *backend.JobInsert) { j.RunAt = t0.Add(time.Hour) })
	cancelled := insert(q)
	enqueue(t, b, t0, later, cancelled)
	_, err := b.JobCancel(ctx, &backend.JobCancelParams{ID: cancelled.ID, Now: t0})
	require.NoError(t, err)
	t1 := t0.Add(time.Minute + 7)
	for _, id := range []string{later.ID, cancelled.ID} {
		_, err = b.JobRetry(ctx, &backend.JobRetryParams{ID: id, Now: t1})
		require.NoError(t, err)
	}
	jobs := claim(t, b, q, 2, t1, time.Minute)
	require.Len(t, jobs, 2)
	for _, j := range jobs {
		require.Equal(t, t1, j.RunAt, "job %s", j.ID)
		require.Equal(t, 1, j.Attempt)
	}
}

// TestClaimBodyReadyRemoval: cancel and delete find a queued job's ready
// member whether it carries a claim body or not (a large job has none), or
// one that no longer matches its hash (changed by hand); purge reports the
// IDs of members with bodies. No removed job is claimed afterwards.
func TestClaimBodyReadyRemoval(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	q := "bodyrm"
	ready := b.queueKeys(q)[kReady]
	count := func() int64 {
		n, err := b.rdb.ZCard(ctx, ready).Result()
		require.NoError(t, err)
		return n
	}
	large := func(j *backend.JobInsert) {
		j.Args = json.RawMessage(`"` + strings.Repeat("x", bodyMax) + `"`)
		j.Priority = 3
	}
	jobs := []*backend.JobInsert{insert(q), insert(q, large), insert(q), insert(q, large), insert(q, func(j *backend.JobInsert) { j.Priority = -2 })}
	enqueue(t, b, t0, jobs...)
	require.EqualValues(t, 5, count())
	_, err := b.JobCancel(ctx, &backend.JobCancelParams{ID: jobs[0].ID, Now: t0})
	require.NoError(t, err)
	_, err = b.JobCancel(ctx, &backend.JobCancelParams{ID: jobs[1].ID, Now: t0})
	require.NoError(t, err)
	require.NoError(t, b.JobDelete(ctx, &backend.JobDeleteParams{ID: jobs[2].ID}))
	require.NoError(t, b.JobDelete(ctx, &backend.JobDeleteParams{ID: jobs[3].ID}))
	require.EqualValues(t, 1, count())
	require.NoError(t, b.rdb.HSet(ctx, b.k.job(q, jobs[4].ID), "ma", "99").Err())
	_, err = b.JobCancel(ctx, &backend.JobCancelParams{ID: jobs[4].ID, Now: t0})
	require.NoError(t, err)
	require.Zero(t, count())
	require.Empty(t, claim(t, b, q, 10, t0, time.Minute))

	more := []*backend.JobInsert{insert(q), insert(q, large)}
	enqueue(t, b, t0, more...)
	res, err := b.QueuePurge(ctx, &backend.QueuePurgeParams{Queue: q})
	require.NoError(t, err)
	require.Equal(t, 2+len(jobs)-2, res.Deleted) // the two queued and three cancelled
	require.Zero(t, count())
	for _, j := range more {
		_, err := b.JobGet(ctx, &backend.JobGetParams{ID: j.ID})
		require.ErrorIs(t, err, backend.ErrNotFound)
	}
}

// TestClaimLargeJob: a job too large for a claim body is claimed from its
// hash with its args intact.
func TestClaimLargeJob(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := "bodylarge"
	args := json.RawMessage(`"` + strings.Repeat("y", 3*bodyMax) + `"`)
	job := insert(q, func(j *backend.JobInsert) { j.Args = args })
	enqueue(t, b, t0, job)
	members, err := b.rdb.ZRange(t.Context(), b.queueKeys(q)[kReady], 0, -1).Result()
	require.NoError(t, err)
	require.Len(t, members, 1)
	require.NotContains(t, members[0], "\x00")
	jobs := claim(t, b, q, 1, t0, time.Minute)
	require.Len(t, jobs, 1)
	require.Equal(t, string(args), string(jobs[0].Args))
}

// TestEnqueueRejectsSeparatorsInID: a NUL byte separates a ready member's
// ID from its claim body, '|' a running member's parts, and '{' or '}'
// would break the hash tag (such a job could be stored but never found by
// ID), so IDs may not contain them.
func TestEnqueueRejectsSeparatorsInID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, id := range []string{"a\x00b", "a{b", "a}b", "a|b"} {
		_, err := b.JobEnqueue(t.Context(), &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{
			insert("sep", func(j *backend.JobInsert) { j.ID = id }),
		}})
		require.ErrorContains(t, err, "invalid job id", "%q", id)
	}
}

// TestEnqueueJustAfterNowIsScheduled: run_at after Now means scheduled, as
// on every backend, even by less than the microsecond the sets score by.
func TestEnqueueJustAfterNowIsScheduled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	j := insert("submicro", func(j *backend.JobInsert) { j.RunAt = t0.Add(500 * time.Nanosecond) })
	require.Equal(t, backend.StateScheduled, enqueue(t, b, t0, j)[0].State)
	c := claim(t, b, "submicro", 1, t0.Add(time.Microsecond), time.Minute)
	require.Len(t, c, 1, "due a microsecond later")
}

// TestPrefixMayNotContainColon: prefix "p" with queue "a:b" and prefix
// "p:a" with queue "b" would name the same keys.
func TestPrefixMayNotContainColon(t *testing.T) {
	t.Parallel()
	err := Config{Prefix: "app:conveyor"}.Validate()
	require.ErrorContains(t, err, "must not contain")
	require.ErrorContains(t, err, "':'")
}

// TestEnqueueSameIDTwiceInBatch: the second copy of an ID in one batch is a
// replay of the first (enqueue checks existence in bulk before storing, so
// it must count the jobs it stores itself).
func TestEnqueueSameIDTwiceInBatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := "dupbatch"
	first := insert(q)
	second := insert(q, func(j *backend.JobInsert) { j.ID = first.ID; j.Args = json.RawMessage(`{"second":true}`) })
	out := enqueue(t, b, t0, first, second)
	require.Equal(t, backend.EnqueueOutcome{ID: first.ID, State: backend.StateQueued}, out[0])
	require.Equal(t, backend.EnqueueOutcome{ID: first.ID, State: backend.StateQueued, Duplicate: true}, out[1])
	n, err := b.rdb.ZCard(t.Context(), b.queueKeys(q)[kReady]).Result()
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	jobs := claim(t, b, q, 2, t0, time.Minute)
	require.Len(t, jobs, 1)
	require.JSONEq(t, string(first.Args), string(jobs[0].Args))
}

// TestClaimBodyScheduled: a scheduled job's member carries its claim body
// through promotion (by JobPromote or by the claim itself), so it is
// claimed as it was enqueued; cancel, delete and retry of a scheduled job
// remove its member, body or not; purge reports its ID.
func TestClaimBodyScheduled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	q := "bodysched"
	sched := b.queueKeys(q)[kScheduled]
	count := func(key string) int64 {
		n, err := b.rdb.ZCard(ctx, key).Result()
		require.NoError(t, err)
		return n
	}
	later := t0.Add(time.Hour + 5)
	at := func(j *backend.JobInsert) {
		j.RunAt = later
		j.Args = json.RawMessage(`{"later":1}`)
		j.Meta = json.RawMessage(`{"m":2}`)
	}
	byPromote, byClaim := insert(q, at), insert(q, at)
	enqueue(t, b, t0, byPromote)
	members, err := b.rdb.ZRange(ctx, sched, 0, -1).Result()
	require.NoError(t, err)
	require.Len(t, members, 1)
	require.Contains(t, members[0], "\x00")
	_, err = b.JobPromote(ctx, &backend.JobPromoteParams{Now: later})
	require.NoError(t, err)
	enqueue(t, b, t0, byClaim)
	ready, err := b.rdb.ZRange(ctx, b.queueKeys(q)[kReady], 0, -1).Result()
	require.NoError(t, err)
	require.Len(t, ready, 1)
	require.Contains(t, ready[0], byPromote.ID+"\x00", "the promoted member keeps the body")
	jobs := claim(t, b, q, 2, later, time.Minute)
	require.Len(t, jobs, 2)
	for _, j := range jobs {
		require.Equal(t, later, j.RunAt)
		require.Equal(t, 1, j.Attempt)
		require.JSONEq(t, `{"later":1}`, string(j.Args))
		require.JSONEq(t, `{"m":2}`, string(j.Meta))
	}

	large := func(j *backend.JobInsert) {
		at(j)
		j.Args = json.RawMessage(`"` + strings.Repeat("x", bodyMax) + `"`)
	}
	cancelled, deleted, retried, deletedLarge := insert(q, at), insert(q, at), insert(q, at), insert(q, large)
	enqueue(t, b, t0, cancelled, deleted, retried, deletedLarge)
	require.EqualValues(t, 4, count(sched))
	_, err = b.JobCancel(ctx, &backend.JobCancelParams{ID: cancelled.ID, Now: t0})
	require.NoError(t, err)
	require.NoError(t, b.JobDelete(ctx, &backend.JobDeleteParams{ID: deleted.ID}))
	require.NoError(t, b.JobDelete(ctx, &backend.JobDeleteParams{ID: deletedLarge.ID}))
	t1 := t0.Add(time.Minute)
	_, err = b.JobRetry(ctx, &backend.JobRetryParams{ID: retried.ID, Now: t1})
	require.NoError(t, err)
	require.Zero(t, count(sched))
	got := claim(t, b, q, 10, later, time.Minute)
	require.Len(t, got, 1, "only the retried job is claimable")
	require.Equal(t, retried.ID, got[0].ID)
	require.Equal(t, t1, got[0].RunAt, "retry's run_at, not the body's")

	purged := insert(q, at)
	enqueue(t, b, t0, purged)
	res, err := b.QueuePurge(ctx, &backend.QueuePurgeParams{Queue: q})
	require.NoError(t, err)
	require.Equal(t, 2, res.Deleted) // the purged job and the cancelled one
	_, err = b.JobGet(ctx, &backend.JobGetParams{ID: purged.ID})
	require.ErrorIs(t, err, backend.ErrNotFound)
}
