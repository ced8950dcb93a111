package backendtest

import (
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

func testEnqueue(t *testing.T, f Factory) {
	t.Run("RoundTrip", func(t *testing.T) {
		h := setup(t, f)
		in := &backend.JobInsert{
			ID:           newID(),
			Kind:         "email.send",
			Queue:        "enqueue-roundtrip",
			Args:         json.RawMessage(`{"to":"a@example.com","n":[1,2,3],"nested":{"x":true}}`),
			Priority:     7,
			MaxAttempts:  5,
			Timeout:      90 * time.Second,
			RunAt:        at(-time.Minute),
			UniqueKey:    "roundtrip-key",
			UniqueStates: []backend.JobState{backend.StateQueued, backend.StateRunning},
			Tags:         []string{"alpha", "beta"},
			Meta:         json.RawMessage(`{"trace":"abc"}`),
		}
		out := h.enqueue(base, in)
		require.Equal(t, backend.EnqueueOutcome{ID: in.ID, Duplicate: false, State: backend.StateQueued}, out[0])

		j := h.get(in.ID)
		require.Equal(t, in.ID, j.ID)
		require.Equal(t, in.Kind, j.Kind)
		require.Equal(t, in.Queue, j.Queue)
		require.JSONEq(t, string(in.Args), string(j.Args))
		require.Equal(t, in.Priority, j.Priority)
		require.Equal(t, backend.StateQueued, j.State)
		require.Equal(t, 0, j.Attempt)
		require.Equal(t, in.MaxAttempts, j.MaxAttempts)
		require.Equal(t, in.Timeout, j.Timeout)
		requireTime(t, in.RunAt, j.RunAt, "RunAt")
		require.Equal(t, in.UniqueKey, j.UniqueKey)
		require.ElementsMatch(t, in.UniqueStates, j.UniqueStates)
		require.Equal(t, in.Tags, j.Tags)
		require.JSONEq(t, string(in.Meta), string(j.Meta))
		require.Empty(t, j.Result)
		require.Empty(t, j.Errors)
		require.Empty(t, j.Progress)
		requireTime(t, base, j.EnqueuedAt, "EnqueuedAt")
		requireTime(t, time.Time{}, j.StartedAt, "StartedAt")
		requireTime(t, time.Time{}, j.FinishedAt, "FinishedAt")
		requireLeaseCleared(t, j)
		require.False(t, j.CancelRequested)
	})

	t.Run("MinimalFields", func(t *testing.T) {
		h := setup(t, f)
		in := job("enqueue-minimal")
		h.add(base, in)
		j := h.get(in.ID)
		require.JSONEq(t, string(in.Args), string(j.Args))
		require.Empty(t, j.UniqueKey)
		require.Empty(t, j.Tags)
		require.Empty(t, j.Meta)
		require.Empty(t, j.UniqueStates)
	})

	t.Run("Scheduled", func(t *testing.T) {
		h := setup(t, f)
		q := "enqueue-scheduled"
		future := job(q, withRunAt(at(time.Hour)))
		now := job(q, withRunAt(base))
		out := h.enqueue(base, future, now)
		require.Equal(t, backend.StateScheduled, out[0].State, "run_at after Now is stored scheduled")
		require.Equal(t, backend.StateQueued, out[1].State, "run_at equal to Now is stored queued")
		j := h.requireState(future.ID, backend.StateScheduled)
		requireTime(t, at(time.Hour), j.RunAt, "RunAt")
		h.requireState(now.ID, backend.StateQueued)
	})

	t.Run("GetMissing", func(t *testing.T) {
		h := setup(t, f)
		h.requireGone(newID())
	})

	t.Run("GetReturnsCopy", func(t *testing.T) {
		h := setup(t, f)
		in := job("enqueue-copy", withTags("keep"))
		h.add(base, in)
		// Neither the caller's insert nor a returned job may alias the store.
		in.Args[2] = 'X'
		in.Tags[0] = "changed"
		j := h.get(in.ID)
		j.Args[2] = 'Y'
		j.Tags[0] = "changed"
		j.State = backend.StateFailed
		again := h.get(in.ID)
		require.JSONEq(t, `{"n":1}`, string(again.Args))
		require.Equal(t, []string{"keep"}, again.Tags)
		require.Equal(t, backend.StateQueued, again.State)
	})

	t.Run("Batch", func(t *testing.T) {
		h := setup(t, f)
		q := "enqueue-batch"
		jobs := make([]*backend.JobInsert, 1000)
		for i := range jobs {
			jobs[i] = job(q, func(j *backend.JobInsert) { j.Args = json.RawMessage(`{"i":` + strconv.Itoa(i) + `}`) })
		}
		out := h.enqueue(base, jobs...)
		for i, o := range out {
			require.Equal(t, jobs[i].ID, o.ID, "outcome %d in insert order", i)
			require.False(t, o.Duplicate)
			require.Equal(t, backend.StateQueued, o.State)
		}
		for _, i := range []int{0, 1, 499, 998, 999} {
			j := h.get(jobs[i].ID)
			require.JSONEq(t, `{"i":`+strconv.Itoa(i)+`}`, string(j.Args))
		}
		require.Equal(t, int64(1000), h.queueInfo(q, base).Counts[backend.StateQueued])
	})

	t.Run("Unique", func(t *testing.T) {
		h := setup(t, f)
		q := "enqueue-unique"
		first := h.addOne(q, withUnique("k1"))
		dup := job(q, withUnique("k1"))
		out := h.enqueue(base, dup)
		require.Equal(t, backend.EnqueueOutcome{ID: first, Duplicate: true, State: backend.StateQueued}, out[0])
		h.requireGone(dup.ID)
		// Another key is independent.
		h.add(base, job(q, withUnique("k2")))
		require.Equal(t, int64(2), h.queueInfo(q, base).Counts[backend.StateQueued])
	})

	t.Run("UniqueInBatch", func(t *testing.T) {
		h := setup(t, f)
		q := "enqueue-unique-batch"
		a, b, c := job(q, withUnique("same")), job(q, withUnique("same")), job(q)
		out := h.enqueue(base, a, b, c)
		require.Equal(t, backend.EnqueueOutcome{ID: a.ID, State: backend.StateQueued}, out[0])
		require.Equal(t, backend.EnqueueOutcome{ID: a.ID, Duplicate: true, State: backend.StateQueued}, out[1])
		require.Equal(t, backend.EnqueueOutcome{ID: c.ID, State: backend.StateQueued}, out[2])
		h.requireGone(b.ID)
	})

	t.Run("UniqueConcurrent", func(t *testing.T) {
		h := setup(t, f)
		q := "enqueue-unique-concurrent"
		const n = 10
		var wg sync.WaitGroup
		outs := make([]backend.EnqueueOutcome, n)
		errs := make([]error, n)
		ins := make([]*backend.JobInsert, n)
		for i := range ins {
			ins[i] = job(q, withUnique("contended"))
		}
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				res, err := h.b.JobEnqueue(h.ctx, &backend.JobEnqueueParams{Jobs: ins[i : i+1], Now: base})
				errs[i] = err
				if err == nil && len(res.Jobs) == 1 {
					outs[i] = res.Jobs[0]
				}
			})
		}
		close(start)
		wg.Wait()
		stored := 0
		var winner string
		for i := range n {
			require.NoError(t, errs[i], "enqueuer %d", i)
			if !outs[i].Duplicate {
				stored++
				winner = ins[i].ID
			}
		}
		require.Equal(t, 1, stored, "exactly one concurrent enqueue stores the job")
		for i := range n {
			require.Equal(t, winner, outs[i].ID, "enqueuer %d names the stored job", i)
		}
		require.Equal(t, int64(1), h.queueInfo(q, base).Counts[backend.StateQueued])
	})

	t.Run("UniqueReleased", func(t *testing.T) {
		h := setup(t, f)
		q := "enqueue-unique-released"
		first := h.addOne(q, withUnique("rel"))
		// Held while running (a default unique state).
		j := h.claimOne(q, first, base)
		require.True(t, h.enqueue(base, job(q, withUnique("rel")))[0].Duplicate, "running job holds its key")
		h.finishOK(at(time.Second), complete(j, ""))
		// Completed is not a default unique state: the key is free.
		second := job(q, withUnique("rel"))
		out := h.enqueue(at(2*time.Second), second)
		require.Equal(t, backend.EnqueueOutcome{ID: second.ID, State: backend.StateQueued}, out[0])
		// Cancelled releases it too.
		_, err := h.b.JobCancel(h.ctx, &backend.JobCancelParams{ID: second.ID, Now: at(3 * time.Second)})
		require.NoError(t, err)
		third := job(q, withUnique("rel"))
		require.False(t, h.enqueue(at(4*time.Second), third)[0].Duplicate, "cancelled job released its key")
	})

	t.Run("UniqueDefaultStates", func(t *testing.T) {
		h := setup(t, f)
		q := "enqueue-unique-default"
		// Scheduled and retrying are default unique states; failed is not.
		scheduled := h.addOne(q, withUnique("sched"), withRunAt(at(time.Hour)))
		out := h.enqueue(base, job(q, withUnique("sched")))
		require.Equal(t, backend.EnqueueOutcome{ID: scheduled, Duplicate: true, State: backend.StateScheduled}, out[0])

		retrying := h.addOne(q, withUnique("retry"))
		c := h.claimOne(q, retrying, base)
		h.finishOK(base, outcome(c, backend.OutcomeRetry, at(30*time.Minute), "again"))
		out = h.enqueue(at(time.Second), job(q, withUnique("retry")))
		require.Equal(t, backend.EnqueueOutcome{ID: retrying, Duplicate: true, State: backend.StateRetrying}, out[0])

		_, err := h.b.JobPromote(h.ctx, &backend.JobPromoteParams{Now: at(30 * time.Minute)})
		require.NoError(t, err)
		c = h.claimOne(q, retrying, at(30*time.Minute))
		h.finishOK(at(30*time.Minute), outcome(c, backend.OutcomeFailed, time.Time{}, "dead"))
		require.False(t, h.enqueue(at(30*time.Minute), job(q, withUnique("retry")))[0].Duplicate, "failed released the key")
	})

	t.Run("UniqueStates", func(t *testing.T) {
		h := setup(t, f)
		q := "enqueue-unique-states"
		// A job holding its key in completed too keeps it after success...
		held := h.addOne(q, withUnique("done", backend.StateQueued, backend.StateRunning, backend.StateCompleted))
		h.finishOK(base, complete(h.claimOne(q, held, base), ""))
		out := h.enqueue(at(time.Second), job(q, withUnique("done")))
		require.Equal(t, backend.EnqueueOutcome{ID: held, Duplicate: true, State: backend.StateCompleted}, out[0])
		// ...while a job holding its key only when queued frees it once running.
		free := h.addOne(q, withUnique("queued-only", backend.StateQueued))
		h.claimOne(q, free, base)
		require.False(t, h.enqueue(at(time.Second), job(q, withUnique("queued-only")))[0].Duplicate)
	})

	t.Run("ReplayBeatsUniqueKey", func(t *testing.T) {
		// An ID enqueued again is a replay of that enqueue, answered with the
		// job itself, even when another job now holds its unique key.
		h := setup(t, f)
		q := "enqueue-replay-unique"
		x := job(q, withUnique("k"))
		require.False(t, h.enqueue(base, x)[0].Duplicate)
		h.finishOK(base, complete(h.claimOne(q, x.ID, base), ""))
		y := h.addOne(q, withUnique("k")) // x completed: the key is free again
		replay := *x
		out := h.enqueue(at(time.Second), &replay)
		require.Equal(t, backend.EnqueueOutcome{ID: x.ID, Duplicate: true, State: backend.StateCompleted}, out[0],
			"the replay names its own job, not %s holding the key", y)
	})

	// Two jobs whose unique states leave out running (or scheduled) can
	// both exist; when one automatic transition moves both into a state
	// that holds the key, one of them gets it and the transition still
	// happens for the whole batch (it must never wedge: a rescue failing
	// for good would leave every crashed job of the store running).
	waiting := []backend.JobState{backend.StateQueued, backend.StateScheduled, backend.StateRetrying}
	t.Run("UniqueTwoIntoOneKey/Rescue", func(t *testing.T) {
		h := setup(t, f)
		q := "unique-two-rescue"
		a := h.addOne(q, withUnique("k", waiting...))
		h.claimOne(q, a, base)
		b := h.addOne(q, withUnique("k", waiting...))
		h.claimOne(q, b, base)
		other := h.addOne(q)
		h.claimOne(q, other, base)
		got := h.rescue(at(time.Hour), 0)
		require.Len(t, got, 3, "all three rescued: %v", got)
		for _, id := range []string{a, b, other} {
			require.NotEqual(t, backend.StateRunning, h.get(id).State)
		}
	})
	t.Run("UniqueTwoIntoOneKey/Promote", func(t *testing.T) {
		h := setup(t, f)
		q := "unique-two-promote"
		queuedOnly := []backend.JobState{backend.StateQueued}
		a := h.addOne(q, withRunAt(at(time.Minute)), withUnique("k", queuedOnly...))
		b := h.addOne(q, withRunAt(at(time.Minute)), withUnique("k", queuedOnly...))
		_, err := h.b.JobPromote(h.ctx, &backend.JobPromoteParams{Now: at(time.Hour)})
		require.NoError(t, err)
		got := h.claim(q, 10, at(time.Hour))
		require.Len(t, got, 2, "both due and claimable")
		require.ElementsMatch(t, []string{a, b}, []string{got[0].ID, got[1].ID})
	})
	t.Run("UniqueTwoIntoOneKey/Snooze", func(t *testing.T) {
		h := setup(t, f)
		q := "unique-two-snooze"
		a := h.addOne(q, withUnique("k", waiting...))
		ca := h.claimOne(q, a, base)
		b := h.addOne(q, withUnique("k", waiting...))
		cb := h.claimOne(q, b, base)
		// The shutdown hand-back: both snoozed in one batch.
		h.finishOK(at(time.Second), outcome(ca, backend.OutcomeSnoozed, at(time.Second), ""), outcome(cb, backend.OutcomeSnoozed, at(time.Second), ""))
		h.requireState(a, backend.StateQueued)
		h.requireState(b, backend.StateQueued)
	})
}
