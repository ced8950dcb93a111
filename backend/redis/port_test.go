package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"conveyor/backend"
	"conveyor/backend/backendtest"
)

var t0 = time.Date(2031, 3, 1, 9, 0, 0, 0, time.UTC)

func insert(queue string, mods ...func(*backend.JobInsert)) *backend.JobInsert {
	j := &backend.JobInsert{
		ID: uuid.Must(uuid.NewV7()).String(), Kind: "k", Queue: queue, Args: json.RawMessage(`{}`),
		MaxAttempts: 3, Timeout: time.Minute, RunAt: t0,
	}
	for _, m := range mods {
		m(j)
	}
	return j
}

func enqueue(t testing.TB, b *Backend, now time.Time, jobs ...*backend.JobInsert) []backend.EnqueueOutcome {
	t.Helper()
	res, err := b.JobEnqueue(context.Background(), &backend.JobEnqueueParams{Jobs: jobs, Now: now})
	require.NoError(t, err)
	return res.Jobs
}

func claim(t testing.TB, b *Backend, queue string, n int, now time.Time, lease time.Duration) []*backend.Job {
	t.Helper()
	res, err := b.JobClaim(context.Background(), &backend.JobClaimParams{Queue: queue, Limit: n, Owner: "w", LeaseDuration: lease, Now: now})
	require.NoError(t, err)
	return res.Jobs
}

func TestOpenURL(t *testing.T) {
	t.Parallel()
	clean, prefix, err := splitPrefix("redis://127.0.0.1:6379/2?prefix=abc&dial_timeout=3s")
	require.NoError(t, err)
	require.Equal(t, "abc", prefix)
	require.Equal(t, "redis://127.0.0.1:6379/2?dial_timeout=3s", clean)

	_, err = New(context.Background(), Config{URL: "redis://127.0.0.1:6379/0?prefix=a%7Bb"})
	require.ErrorContains(t, err, "must not contain")

	b := setup(t)
	require.Equal(t, "redis", b.Capabilities().Name)
	require.True(t, b.Capabilities().Wake)
	ob, err := backend.Open(t.Context(), backendtest.WithQueryParam(t, backendtest.RedisURL(), "prefix", b.Prefix()))
	require.NoError(t, err)
	require.NoError(t, ob.Ping(t.Context()))
	require.NoError(t, ob.Close())
	require.NoError(t, ob.Close(), "Close is idempotent")
	require.ErrorIs(t, ob.Ping(t.Context()), backend.ErrClosed)
}

func TestRecords(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	r, err := b.RecordPut(ctx, &backend.RecordPutParams{Namespace: "s", Key: "b", Value: json.RawMessage(`{"x":1}`), Now: t0})
	require.NoError(t, err)
	require.EqualValues(t, 1, r.Version)
	_, err = b.RecordPut(ctx, &backend.RecordPutParams{Namespace: "s", Key: "b", Value: json.RawMessage(`{}`), Now: t0})
	require.ErrorIs(t, err, backend.ErrConflict, "create-if-absent on an existing record")
	_, err = b.RecordPut(ctx, &backend.RecordPutParams{Namespace: "s", Key: "b", Value: json.RawMessage(`{}`), IfVersion: 5, Now: t0})
	require.ErrorIs(t, err, backend.ErrConflict)
	r, err = b.RecordPut(ctx, &backend.RecordPutParams{Namespace: "s", Key: "b", Value: json.RawMessage(`{"x|y":2}`), IfVersion: 1, Now: t0.Add(time.Second)})
	require.NoError(t, err)
	require.EqualValues(t, 2, r.Version)
	_, err = b.RecordPut(ctx, &backend.RecordPutParams{Namespace: "s", Key: "a", Value: json.RawMessage(`[]`), IfVersion: backend.AnyVersion, Now: t0})
	require.NoError(t, err)

	got, err := b.RecordGet(ctx, &backend.RecordGetParams{Namespace: "s", Key: "b"})
	require.NoError(t, err)
	require.JSONEq(t, `{"x|y":2}`, string(got.Value))
	require.EqualValues(t, 2, got.Version)
	require.True(t, got.UpdatedAt.Equal(t0.Add(time.Second)))
	_, err = b.RecordGet(ctx, &backend.RecordGetParams{Namespace: "s", Key: "zz"})
	require.ErrorIs(t, err, backend.ErrNotFound)

	list, err := b.RecordList(ctx, &backend.RecordListParams{Namespace: "s"})
	require.NoError(t, err)
	require.Len(t, list.Records, 2)
	require.Equal(t, "a", list.Records[0].Key)
	require.Equal(t, "b", list.Records[1].Key)

	require.ErrorIs(t, b.RecordDelete(ctx, &backend.RecordDeleteParams{Namespace: "s", Key: "b", IfVersion: 1}), backend.ErrConflict)
	require.NoError(t, b.RecordDelete(ctx, &backend.RecordDeleteParams{Namespace: "s", Key: "b", IfVersion: 2}))
	require.ErrorIs(t, b.RecordDelete(ctx, &backend.RecordDeleteParams{Namespace: "s", Key: "b", IfVersion: backend.AnyVersion}), backend.ErrNotFound)
}

func TestQueueWatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, cancel := context.WithCancel(t.Context())
	w, err := b.QueueWatch(ctx, &backend.QueueWatchParams{Queues: []string{"a", "b"}})
	require.NoError(t, err)

	enqueue(t, b, t0, insert("b"))
	select {
	case q := <-w.C:
		require.Equal(t, "b", q)
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up after an enqueue on a watched queue")
	}
	// A scheduled job is not claimable yet: no signal until it is promoted.
	enqueue(t, b, t0, insert("a", func(j *backend.JobInsert) { j.RunAt = t0.Add(time.Hour) }))
	res, err := b.JobPromote(ctx, &backend.JobPromoteParams{Now: t0.Add(2 * time.Hour)})
	require.NoError(t, err)
	require.Equal(t, 1, res.Promoted)
	select {
	case q := <-w.C:
		require.Equal(t, "a", q)
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up after a promotion")
	}

	cancel()
	require.Eventually(t, func() bool {
		select {
		case _, ok := <-w.C:
			return !ok
		default:
			return false
		}
	}, 5*time.Second, time.Millisecond, "channel closed when ctx ends")
}

// TestQueueListOldest checks the oldest queued run_at across priorities.
func TestQueueListOldest(t *testing.T) {
	t.Parallel()
	b := setup(t)
	enqueue(t, b, t0.Add(time.Hour),
		insert("q", func(j *backend.JobInsert) { j.Priority = 5; j.RunAt = t0.Add(30 * time.Minute) }),
		insert("q", func(j *backend.JobInsert) { j.Priority = -2; j.RunAt = t0.Add(10 * time.Minute) }),
		insert("q", func(j *backend.JobInsert) { j.Priority = 0; j.RunAt = t0.Add(20 * time.Minute) }),
	)
	res, err := b.QueueList(t.Context(), &backend.QueueListParams{Now: t0.Add(time.Hour)})
	require.NoError(t, err)
	require.Len(t, res.Queues, 1)
	require.EqualValues(t, 3, res.Queues[0].Counts[backend.StateQueued])
	require.True(t, res.Queues[0].OldestQueuedAt.Equal(t0.Add(10*time.Minute)), res.Queues[0].OldestQueuedAt)
	jobs := claim(t, b, "q", 3, t0.Add(time.Hour), time.Minute)
	require.Equal(t, []int{5, 0, -2}, []int{jobs[0].Priority, jobs[1].Priority, jobs[2].Priority})
}

// TestListMergesQueues pages through jobs of several queues (uneven sizes,
// chunks smaller than the data) and requires the global newest-first order,
// every job exactly once, and stability under inserts between pages.
func TestListMergesQueues(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	var want []string
	for i := range 700 {
		q := []string{"a", "b", "b", "c", "c", "c"}[i%6]
		want = append(want, enqueue(t, b, t0, insert(q))[0].ID)
	}
	slices.Reverse(want)
	for _, limit := range []int{7, 100, 1000} {
		var got []string
		cursor := ""
		for {
			page, err := b.JobList(ctx, &backend.JobListParams{Cursor: cursor, Limit: limit})
			require.NoError(t, err)
			for _, j := range page.Jobs {
				got = append(got, j.ID)
			}
			enqueue(t, b, t0, insert("b")) // newer than everything listed: never shows up below the cursor
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
		require.Equal(t, want, got, "limit %d", limit)
		want = nil
		page, err := b.JobList(ctx, &backend.JobListParams{Limit: 1000})
		require.NoError(t, err)
		for _, j := range page.Jobs {
			want = append(want, j.ID)
		}
	}
	page, err := b.JobList(ctx, &backend.JobListParams{Queue: "a", Limit: 1000})
	require.NoError(t, err)
	require.Len(t, page.Jobs, 117)
}

// TestEnqueueCoalesced runs many concurrent small enqueues (which share
// script calls) with different Nows, queues and unique keys, and checks
// every caller gets its own outcomes.
func TestEnqueueCoalesced(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	const goroutines, each = 32, 40
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				now := t0.Add(time.Duration(g) * time.Minute)
				q := []string{"c1", "c2"}[i%2]
				j1 := insert(q, func(j *backend.JobInsert) { j.RunAt = t0.Add(time.Duration(i%3) * 10 * time.Minute) })
				j2 := insert(q, func(j *backend.JobInsert) { j.UniqueKey = fmt.Sprintf("u%d", i) })
				res, err := b.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{j1, j2}, Now: now})
				if err != nil {
					errs <- err
					return
				}
				wantState := backend.StateQueued
				if j1.RunAt.After(now) {
					wantState = backend.StateScheduled
				}
				if res.Jobs[0].ID != j1.ID || res.Jobs[0].Duplicate || res.Jobs[0].State != wantState {
					errs <- fmt.Errorf("goroutine %d job %d: got %+v, want %s %s", g, i, res.Jobs[0], j1.ID, wantState)
					return
				}
				got, err := b.JobGet(ctx, &backend.JobGetParams{ID: j1.ID})
				if err != nil || !got.EnqueuedAt.Equal(now) {
					errs <- fmt.Errorf("goroutine %d job %d: get %v, enqueued_at %v want %v", g, i, err, got, now)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	ql, err := b.QueueList(ctx, &backend.QueueListParams{Now: t0})
	require.NoError(t, err)
	var total, uniques int64
	for _, q := range ql.Queues {
		for _, n := range q.Counts {
			total += n
		}
	}
	uniques = each // one stored job per unique key u0..u39
	require.EqualValues(t, goroutines*each+uniques, total)
}

// TestFinishFencing covers what the running-set fencing of finish.lua must
// still reject: a second outcome for one claim in the same batch, a token
// of an earlier claim, and a forged token; the cancel-requested flag is
// cleared by a final outcome.
func TestFinishFencing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	a, c := insert("fence"), insert("fence")
	enqueue(t, b, t0, a, c)
	jobs := claim(t, b, "fence", 2, t0, time.Minute)
	require.Len(t, jobs, 2)
	_, err := b.JobCancel(ctx, &backend.JobCancelParams{ID: jobs[0].ID, Now: t0})
	require.NoError(t, err)
	done := &backend.JobOutcome{ID: jobs[0].ID, LeaseToken: jobs[0].LeaseToken, Outcome: backend.OutcomeCompleted}
	forged := &backend.JobOutcome{ID: jobs[1].ID, LeaseToken: jobs[0].LeaseToken, Outcome: backend.OutcomeCompleted}
	res, err := b.JobFinish(ctx, &backend.JobFinishParams{Jobs: []*backend.JobOutcome{done, done, forged}, Now: t0})
	require.NoError(t, err)
	require.Equal(t, []string{jobs[0].ID, jobs[1].ID}, res.LeaseLost)
	got, err := b.JobGet(ctx, &backend.JobGetParams{ID: jobs[0].ID})
	require.NoError(t, err)
	require.Equal(t, backend.StateCompleted, got.State)
	require.False(t, got.CancelRequested)

	// Rescued and claimed again: the first claim's token no longer counts.
	resc, err := b.JobRescue(ctx, &backend.JobRescueParams{Now: t0.Add(2 * time.Minute)})
	require.NoError(t, err)
	require.Len(t, resc.Jobs, 1)
	again := claim(t, b, "fence", 1, t0.Add(2*time.Minute), time.Minute)
	require.Len(t, again, 1)
	old := &backend.JobOutcome{ID: jobs[1].ID, LeaseToken: jobs[1].LeaseToken, Outcome: backend.OutcomeRetry, RunAt: t0}
	res, err = b.JobFinish(ctx, &backend.JobFinishParams{Jobs: []*backend.JobOutcome{old}, Now: t0})
	require.NoError(t, err)
	require.Equal(t, []string{jobs[1].ID}, res.LeaseLost)
	ext, err := b.LeaseExtend(ctx, &backend.LeaseExtendParams{Leases: []backend.Lease{
		{ID: jobs[1].ID, LeaseToken: jobs[1].LeaseToken}, {ID: again[0].ID, LeaseToken: again[0].LeaseToken},
	}, Duration: time.Minute, Now: t0.Add(2 * time.Minute)})
	require.NoError(t, err)
	require.Equal(t, []string{jobs[1].ID}, ext.Lost)
	ql, err := b.QueueList(ctx, &backend.QueueListParams{})
	require.NoError(t, err)
	require.Len(t, ql.Queues, 1)
	require.EqualValues(t, 1, ql.Queues[0].Counts[backend.StateRunning])
	require.EqualValues(t, 1, ql.Queues[0].Counts[backend.StateCompleted])
	res, err = b.JobFinish(ctx, &backend.JobFinishParams{Jobs: []*backend.JobOutcome{
		{ID: again[0].ID, LeaseToken: again[0].LeaseToken, Outcome: backend.OutcomeCompleted},
	}, Now: t0.Add(2 * time.Minute)})
	require.NoError(t, err)
	require.Empty(t, res.LeaseLost)
}

// TestMigrateLayout: version-1 (running-set members were plain IDs),
// version-2 and version-3 prefixes are upgraded in place; a newer or
// unknown version is refused and left as it is.
func TestMigrateLayout(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	for _, old := range []string{"1", "2", "3"} {
		require.NoError(t, b.rdb.Set(ctx, b.k.schema(), old, 0).Err())
		require.NoError(t, b.Migrate(ctx))
		v, err := b.rdb.Get(ctx, b.k.schema()).Result()
		require.NoError(t, err)
		require.Equal(t, schemaVersion, v, "upgraded from %s", old)
	}
	for _, newer := range []string{"5", "99", "garbage"} {
		require.NoError(t, b.rdb.Set(ctx, b.k.schema(), newer, 0).Err())
		require.ErrorContains(t, b.Migrate(ctx), "layout version "+newer)
		v, err := b.rdb.Get(ctx, b.k.schema()).Result()
		require.NoError(t, err)
		require.Equal(t, newer, v, "a refused version is left alone")
	}
	require.NoError(t, b.rdb.Set(ctx, b.k.schema(), schemaVersion, 0).Err())

	// A job claimed under layout 1 (member = ID): finish reports its lease
	// lost, and rescue hands it back when the lease expires.
	enqueue(t, b, t0, insert("v1"))
	jobs := claim(t, b, "v1", 1, t0, time.Minute)
	require.Len(t, jobs, 1)
	running := b.queueKeys("v1")[kRunning]
	require.NoError(t, b.rdb.Del(ctx, running).Err())
	require.NoError(t, b.rdb.ZAdd(ctx, running, goredis.Z{Score: float64(t0.Add(time.Minute).UnixMicro()), Member: jobs[0].ID}).Err())
	res, err := b.JobFinish(ctx, &backend.JobFinishParams{Jobs: []*backend.JobOutcome{
		{ID: jobs[0].ID, LeaseToken: jobs[0].LeaseToken, Outcome: backend.OutcomeCompleted},
	}, Now: t0})
	require.NoError(t, err)
	require.Equal(t, []string{jobs[0].ID}, res.LeaseLost)
	resc, err := b.JobRescue(ctx, &backend.JobRescueParams{Now: t0.Add(2 * time.Minute)})
	require.NoError(t, err)
	require.Len(t, resc.Jobs, 1)
	require.Equal(t, jobs[0].ID, resc.Jobs[0].ID)
	n, err := b.rdb.ZCard(ctx, running).Result()
	require.NoError(t, err)
	require.Zero(t, n)
}

// A unique key holding '|' and ',' (the separators of the unique states'
// form) is one key, and a scheduled job is stored as scheduled beside
// queued ones in the same enqueue call.
func TestEnqueueUniqueKeyWithSeparators(t *testing.T) {
	t.Parallel()
	b := setup(t)
	key := func(k string) func(*backend.JobInsert) { return func(j *backend.JobInsert) { j.UniqueKey = k } }
	later := func(j *backend.JobInsert) { j.RunAt = t0.Add(time.Hour) }
	first := insert("q", key("a|b,c|"))
	out := enqueue(t, b, t0, first, insert("q", key("a|b,c|")), insert("q", key("a")), insert("q", later))
	require.Equal(t, backend.EnqueueOutcome{ID: first.ID, State: backend.StateQueued}, out[0])
	require.Equal(t, backend.EnqueueOutcome{ID: first.ID, State: backend.StateQueued, Duplicate: true}, out[1])
	require.False(t, out[2].Duplicate, "key a is another key")
	require.Equal(t, backend.StateScheduled, out[3].State)
	uk, err := b.rdb.HGet(t.Context(), b.names("q").jobPrefix+first.ID, "uk").Result()
	require.NoError(t, err)
	require.Equal(t, "a|b,c|", uk)
}
