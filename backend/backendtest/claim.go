package backendtest

import (
	"sync"
	"testing"
	"time"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

func testClaim(t *testing.T, f Factory) {
	t.Run("Fields", func(t *testing.T) {
		h := setup(t, f)
		q := "claim-fields"
		id := h.addOne(q)
		now := at(5 * time.Second)
		res, err := h.b.JobClaim(h.ctx, &backend.JobClaimParams{
			Queue: q, Limit: 10, Owner: "host-a/worker-7", LeaseDuration: 45 * time.Second, Now: now,
		})
		require.NoError(t, err)
		require.Len(t, res.Jobs, 1)
		for _, j := range []*backend.Job{res.Jobs[0], h.get(id)} {
			require.Equal(t, id, j.ID)
			require.Equal(t, backend.StateRunning, j.State)
			require.Equal(t, 1, j.Attempt, "claim increments the attempt")
			requireTime(t, now, j.StartedAt, "StartedAt")
			require.Equal(t, "host-a/worker-7", j.LeaseOwner)
			require.NotEmpty(t, j.LeaseToken)
			requireTime(t, now.Add(45*time.Second), j.LeaseExpiresAt, "LeaseExpiresAt")
			require.JSONEq(t, `{"n":1}`, string(j.Args))
			require.Equal(t, testKind, j.Kind)
		}
		require.Equal(t, res.Jobs[0].LeaseToken, h.get(id).LeaseToken, "stored token is the one returned")
		h.requireNoClaim(q, now)
	})

	t.Run("Empty", func(t *testing.T) {
		h := setup(t, f)
		h.requireNoClaim("claim-never-used", base)
		h.addOne("claim-other")
		h.requireNoClaim("claim-empty", base)
	})

	t.Run("Limit", func(t *testing.T) {
		h := setup(t, f)
		q := "claim-limit"
		for range 5 {
			h.addOne(q)
		}
		require.Len(t, h.claim(q, 3, base), 3)
		require.Len(t, h.claim(q, 3, base), 2)
		require.Empty(t, h.claim(q, 3, base))
	})

	t.Run("Order", func(t *testing.T) {
		h := setup(t, f)
		q := "claim-order"
		// Enqueued in an order that matches none of the keys; IDs grow with
		// enqueue order, so FIFO ties follow the insert order below.
		low := job(q, withPriority(0), withRunAt(at(-time.Minute)))
		highLate := job(q, withPriority(5), withRunAt(at(-time.Second)))
		highEarly := job(q, withPriority(5), withRunAt(at(-2*time.Minute)))
		tieA := job(q, withPriority(1), withRunAt(at(-3*time.Minute)))
		tieB := job(q, withPriority(1), withRunAt(at(-3*time.Minute)))
		negative := job(q, withPriority(-3), withRunAt(at(-time.Hour)))
		lowEarly := job(q, withPriority(0), withRunAt(at(-2*time.Minute)))
		h.add(base, low, highLate, highEarly)
		h.add(base, tieA)
		h.add(base, tieB, negative, lowEarly)
		want := []string{highEarly.ID, highLate.ID, tieA.ID, tieB.ID, lowEarly.ID, low.ID, negative.ID}

		got := h.claim(q, 3, base)
		got = append(got, h.claim(q, 10, base)...)
		ids := make([]string, len(got))
		for i, j := range got {
			ids[i] = j.ID
		}
		require.Equal(t, want, ids, "priority desc, then run_at asc, then id asc")
	})

	t.Run("FIFO", func(t *testing.T) {
		h := setup(t, f)
		q := "claim-fifo"
		var want []string
		for range 20 {
			want = append(want, h.addOne(q))
		}
		var got []string
		for range 4 {
			for _, j := range h.claim(q, 5, base) {
				got = append(got, j.ID)
			}
		}
		require.Equal(t, want, got)
	})

	t.Run("QueuesAreSeparate", func(t *testing.T) {
		h := setup(t, f)
		a := h.addOne("claim-sep-a")
		b := h.addOne("claim-sep-b")
		h.claimOne("claim-sep-b", b, base)
		h.requireNoClaim("claim-sep-b", base)
		h.claimOne("claim-sep-a", a, base)
	})

	t.Run("Scheduled", func(t *testing.T) {
		h := setup(t, f)
		q := "claim-scheduled"
		id := h.addOne(q, withRunAt(at(time.Hour)))
		h.requireNoClaim(q, base)
		h.requireNoClaim(q, at(59*time.Minute))
		h.requireState(id, backend.StateScheduled)
		_, err := h.b.JobPromote(h.ctx, &backend.JobPromoteParams{Now: at(59 * time.Minute)})
		require.NoError(t, err)
		h.requireNoClaim(q, at(59*time.Minute))
		h.requireState(id, backend.StateScheduled)

		_, err = h.b.JobPromote(h.ctx, &backend.JobPromoteParams{Now: at(time.Hour)})
		require.NoError(t, err)
		j := h.claimOne(q, id, at(time.Hour))
		require.Equal(t, 1, j.Attempt)
		requireTime(t, at(time.Hour), j.StartedAt, "StartedAt")
	})

	t.Run("PromoteFeedsOrder", func(t *testing.T) {
		h := setup(t, f)
		q := "claim-promote-order"
		// A due scheduled job with a higher priority goes before queued ones.
		queued := h.addOne(q, withPriority(0))
		scheduled := h.addOne(q, withPriority(9), withRunAt(at(time.Minute)))
		later := h.addOne(q, withPriority(9), withRunAt(at(time.Hour)))
		now := at(2 * time.Minute)
		_, err := h.b.JobPromote(h.ctx, &backend.JobPromoteParams{Now: now})
		require.NoError(t, err)
		h.claimOne(q, scheduled, now)
		h.claimOne(q, queued, now)
		h.requireNoClaim(q, now)
		h.requireState(later, backend.StateScheduled)
	})

	t.Run("FreshTokens", func(t *testing.T) {
		h := setup(t, f)
		q := "claim-tokens"
		h.addOne(q)
		h.addOne(q)
		jobs := h.claim(q, 2, base)
		require.Len(t, jobs, 2)
		require.NotEqual(t, jobs[0].LeaseToken, jobs[1].LeaseToken)
		// A second claim of the same job (after a snooze) gets a new token.
		h.finishOK(base, outcome(jobs[0], backend.OutcomeSnoozed, base, ""))
		again := h.claimOne(q, jobs[0].ID, base)
		require.NotEqual(t, jobs[0].LeaseToken, again.LeaseToken)
	})

	t.Run("Concurrent", func(t *testing.T) {
		h := setup(t, f)
		q := "claim-concurrent"
		const total, claimers = 1000, 8
		ins := make([]*backend.JobInsert, total)
		for i := range ins {
			ins[i] = job(q)
		}
		h.add(base, ins...)

		var (
			mu    sync.Mutex
			seen  = make(map[string]int, total)
			wg    sync.WaitGroup
			errs  = make(chan error, claimers)
			start = make(chan struct{})
		)
		for w := range claimers {
			wg.Go(func() {
				<-start
				for {
					res, err := h.b.JobClaim(h.ctx, &backend.JobClaimParams{
						Queue: q, Limit: 7, Owner: "claimer-" + queueName("w", w), LeaseDuration: time.Minute, Now: base,
					})
					if err != nil {
						errs <- err
						return
					}
					if len(res.Jobs) == 0 {
						return
					}
					mu.Lock()
					for _, j := range res.Jobs {
						seen[j.ID]++
					}
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.Len(t, seen, total, "every job claimed")
		for id, n := range seen {
			require.Equal(t, 1, n, "job %s claimed %d times", id, n)
		}
		info := h.queueInfo(q, base)
		require.Equal(t, int64(total), info.Counts[backend.StateRunning])
		require.Zero(t, info.Counts[backend.StateQueued])
	})
}
