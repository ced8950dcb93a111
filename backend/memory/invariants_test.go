package memory

import (
	"encoding/json"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"conveyor/backend"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkInvariants verifies the bookkeeping every operation must keep: the
// per-queue counts match the jobs, each heap's live items are exactly the
// jobs in its states, and the running set is exactly the running jobs.
func checkInvariants(t *testing.T, b *Backend) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	counts := map[*queue]*[numStates]int64{}
	for _, q := range b.queues {
		counts[q] = new([numStates]int64)
	}
	inList := map[*entry]bool{}
	for r := b.running.head; r != nil; r = r.runNext {
		inList[r] = true
	}
	running := 0
	for e := range b.jobs.all() {
		id := e.ID
		require.Same(t, e, b.jobs.get(id))
		counts[e.q][stateIndex(e.State)]++
		if e.State == backend.StateRunning {
			running++
			require.True(t, inList[e], "running job %s not in the running list", id)
		}
	}
	require.Equal(t, running, b.running.n)
	require.Len(t, inList, running)
	for _, q := range b.queues {
		require.Equal(t, *counts[q], q.counts, "counts of %s", q.name)
		liveIn := func(h *jobHeap, states ...backend.JobState) {
			n := 0
			for _, it := range h.items {
				if it.gen == it.e.gen {
					n++
					require.Contains(t, states, it.e.State)
					require.Same(t, b.jobs.get(it.e.ID), it.e, "live item of a deleted job")
				}
			}
			require.Equal(t, n, h.live(), "live count of %s", q.name)
		}
		liveIn(&q.ready, backend.StateQueued)
		liveIn(&q.waiting, backend.StateScheduled, backend.StateRetrying)
		require.Equal(t, q.counts[stateIndex(backend.StateQueued)], int64(q.ready.live()))
		require.Equal(t, q.counts[stateIndex(backend.StateScheduled)]+q.counts[stateIndex(backend.StateRetrying)], int64(q.waiting.live()))
	}
}

// TestConcurrentOperationsKeepInvariants runs every mutating operation from
// several goroutines at once (under -race) and then checks the bookkeeping.
func TestConcurrentOperationsKeepInvariants(t *testing.T) {
	t.Parallel()
	b, err := New(t.Context(), Config{})
	require.NoError(t, err)
	ctx := t.Context()
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	queues := []string{"a", "b"}
	var (
		mu  sync.Mutex
		ids []string
	)
	pick := func(r *rand.Rand) string {
		mu.Lock()
		defer mu.Unlock()
		if len(ids) == 0 {
			return uuid.NewString()
		}
		return ids[r.IntN(len(ids))]
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 42))
			for i := range 1500 {
				now := base.Add(time.Duration(i) * time.Second)
				q := queues[r.IntN(len(queues))]
				switch r.IntN(9) {
				case 0, 1:
					var ins []*backend.JobInsert
					for range 1 + r.IntN(20) {
						ins = append(ins, &backend.JobInsert{
							ID: uuid.Must(uuid.NewV7()).String(), Kind: "k", Queue: q, Args: json.RawMessage(`1`),
							Priority: r.IntN(3), MaxAttempts: 1 + r.IntN(3), Timeout: time.Second,
							RunAt: now.Add(time.Duration(r.IntN(60)-30) * time.Second),
						})
					}
					_, err := b.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: ins, Now: now})
					assert.NoError(t, err)
					mu.Lock()
					for _, in := range ins {
						ids = append(ids, in.ID)
					}
					mu.Unlock()
				case 2, 3:
					res, err := b.JobClaim(ctx, &backend.JobClaimParams{Queue: q, Limit: 1 + r.IntN(10), Owner: "w", LeaseDuration: 20 * time.Second, Now: now})
					assert.NoError(t, err)
					var outs []*backend.JobOutcome
					for _, j := range res.Jobs {
						if r.IntN(4) == 0 {
							continue // leave it running for the rescuer
						}
						kinds := []backend.Outcome{backend.OutcomeCompleted, backend.OutcomeRetry, backend.OutcomeFailed, backend.OutcomeCancelled, backend.OutcomeSnoozed}
						outs = append(outs, &backend.JobOutcome{
							ID: j.ID, LeaseToken: j.LeaseToken, Outcome: kinds[r.IntN(len(kinds))],
							RunAt: now.Add(time.Duration(r.IntN(40)-10) * time.Second), Error: &backend.AttemptError{Message: "x"},
						})
					}
					_, err = b.JobFinish(ctx, &backend.JobFinishParams{Jobs: outs, Now: now})
					assert.NoError(t, err)
				case 4:
					_, err := b.JobRescue(ctx, &backend.JobRescueParams{Now: now, Limit: r.IntN(5)})
					assert.NoError(t, err)
				case 5:
					_, _ = b.JobCancel(ctx, &backend.JobCancelParams{ID: pick(r), Now: now})
					_, _ = b.JobRetry(ctx, &backend.JobRetryParams{ID: pick(r), Now: now})
				case 6:
					_ = b.JobDelete(ctx, &backend.JobDeleteParams{ID: pick(r)})
					_, err := b.JobPromote(ctx, &backend.JobPromoteParams{Now: now, Limit: r.IntN(3)})
					assert.NoError(t, err)
				case 7:
					states := []backend.JobState{backend.StateCompleted, backend.StateFailed, backend.StateCancelled}
					_, err := b.JobPrune(ctx, &backend.JobPruneParams{State: states[r.IntN(3)], FinishedBefore: now, Limit: r.IntN(10)})
					assert.NoError(t, err)
				default:
					if r.IntN(50) == 0 {
						_, err := b.QueuePurge(ctx, &backend.QueuePurgeParams{Queue: q})
						assert.NoError(t, err)
					}
					_, err := b.QueueList(ctx, &backend.QueueListParams{Now: now})
					assert.NoError(t, err)
				}
			}
		})
	}
	wg.Wait()
	checkInvariants(t, b)
	// Drain: everything left becomes claimable and is claimed exactly once.
	far := base.Add(1000 * time.Hour)
	_, err = b.JobRescue(ctx, &backend.JobRescueParams{Now: far})
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, q := range queues {
		for {
			res, err := b.JobClaim(ctx, &backend.JobClaimParams{Queue: q, Limit: 100, Owner: "d", LeaseDuration: time.Hour, Now: far})
			require.NoError(t, err)
			if len(res.Jobs) == 0 {
				break
			}
			for _, j := range res.Jobs {
				require.False(t, seen[j.ID], "job %s claimed twice", j.ID)
				seen[j.ID] = true
			}
		}
	}
	checkInvariants(t, b)
	for _, q := range b.queues {
		require.Zero(t, q.ready.live()+q.waiting.live(), "nothing waits in %s after the drain", q.name)
	}
}
