package postgres

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"conveyor/backend"
	"conveyor/backend/backendtest"
)

// Fault tests from /work/shared/RELIABILITY.md that apply at the port level.

// Fault 2: a handler blocks past its lease with heartbeats stopped; the job is
// rescued and run elsewhere; the old worker's completion and heartbeat are
// rejected and the job ends in one final state.
func TestFaultStaleCompletionFenced(t *testing.T) {
	t.Parallel()
	x := setup(t)
	in := insert(t, x.now)
	x.enqueue(t, in)
	old := x.claim(t, 1)[0]
	x.now = x.now.Add(31 * time.Second) // lease (30 s) expired
	res, err := x.b.JobRescue(x.ctx, &backend.JobRescueParams{Now: x.now})
	require.NoError(t, err)
	require.Len(t, res.Jobs, 1)
	require.Equal(t, backend.StateQueued, res.Jobs[0].State)
	fresh := x.claim(t, 1)[0]
	require.Equal(t, 2, fresh.Attempt)

	ext, err := x.b.LeaseExtend(x.ctx, &backend.LeaseExtendParams{Now: x.now, Duration: time.Minute, Leases: []backend.Lease{{ID: old.ID, LeaseToken: old.LeaseToken}}})
	require.NoError(t, err)
	require.Equal(t, []string{old.ID}, ext.Lost, "the stale worker learns it lost the lease (and cancels its handler)")
	fin, err := x.b.JobFinish(x.ctx, &backend.JobFinishParams{Now: x.now, Jobs: []*backend.JobOutcome{{ID: old.ID, LeaseToken: old.LeaseToken, Outcome: backend.OutcomeFailed, Error: &backend.AttemptError{Attempt: 1, Message: "late"}}}})
	require.NoError(t, err)
	require.Equal(t, []string{old.ID}, fin.LeaseLost)
	fin, err = x.b.JobFinish(x.ctx, &backend.JobFinishParams{Now: x.now, Jobs: []*backend.JobOutcome{{ID: fresh.ID, LeaseToken: fresh.LeaseToken, Outcome: backend.OutcomeCompleted}}})
	require.NoError(t, err)
	require.Empty(t, fin.LeaseLost)
	j := x.get(t, in.ID)
	require.Equal(t, backend.StateCompleted, j.State)
	require.Equal(t, 2, j.Attempt)
	require.Len(t, j.Errors, 1, "only the rescue is recorded, not the stale failure")
}

// Fault 3: the rescuer and the completer race. Whatever the interleaving the
// job ends either completed with no rescue recorded, or rescued with the
// completion rejected; never both.
func TestFaultRescuerCompleterRace(t *testing.T) {
	t.Parallel()
	x := setup(t)
	t.Run("CompleterHoldsRow", func(t *testing.T) {
		// The completion is written (row locked, not committed) when the
		// rescuer runs: the rescuer skips the row; the commit wins.
		in := insert(t, x.now)
		x.enqueue(t, in)
		j := x.claim(t, 1)[0]
		tx, commit, rollback, err := x.b.BeginTx(x.ctx)
		require.NoError(t, err)
		t.Cleanup(func() { _ = rollback() })
		fin, err := x.b.JobFinishTx(x.ctx, tx, &backend.JobFinishParams{Now: x.now, Jobs: []*backend.JobOutcome{{ID: j.ID, LeaseToken: j.LeaseToken, Outcome: backend.OutcomeCompleted}}})
		require.NoError(t, err)
		require.Empty(t, fin.LeaseLost)
		res, err := x.b.JobRescue(x.ctx, &backend.JobRescueParams{Now: x.now.Add(time.Hour)})
		require.NoError(t, err)
		require.Empty(t, res.Jobs)
		require.NoError(t, commit())
		got := x.get(t, j.ID)
		require.Equal(t, backend.StateCompleted, got.State)
		require.Empty(t, got.Errors)
	})
	t.Run("Concurrent", func(t *testing.T) {
		for range 30 {
			in := insert(t, x.now)
			x.enqueue(t, in)
			j := x.claim(t, 1)[0]
			var wg sync.WaitGroup
			var fin *backend.JobFinishResult
			var rescued *backend.JobRescueResult
			var finErr, rescueErr error
			start := make(chan struct{})
			wg.Go(func() {
				<-start
				fin, finErr = x.b.JobFinish(x.ctx, &backend.JobFinishParams{Now: x.now, Jobs: []*backend.JobOutcome{{ID: j.ID, LeaseToken: j.LeaseToken, Outcome: backend.OutcomeCompleted}}})
			})
			wg.Go(func() {
				<-start
				rescued, rescueErr = x.b.JobRescue(x.ctx, &backend.JobRescueParams{Now: x.now.Add(time.Hour)})
			})
			close(start)
			wg.Wait()
			require.NoError(t, finErr)
			require.NoError(t, rescueErr)
			got := x.get(t, j.ID)
			if len(fin.LeaseLost) == 0 {
				require.Equal(t, backend.StateCompleted, got.State)
				require.Empty(t, got.Errors, "completed: no rescue recorded")
				require.Empty(t, rescued.Jobs)
			} else {
				require.Equal(t, backend.StateQueued, got.State)
				require.Len(t, got.Errors, 1)
				require.Len(t, rescued.Jobs, 1)
				// Clean up for the next round: finish the rescued job.
				again := x.claim(t, 1)[0]
				_, err := x.b.JobFinish(x.ctx, &backend.JobFinishParams{Now: x.now, Jobs: []*backend.JobOutcome{{ID: again.ID, LeaseToken: again.LeaseToken, Outcome: backend.OutcomeCompleted}}})
				require.NoError(t, err)
			}
		}
	})
}

// Fault 4: 1000 jobs enqueued one by one while workers claim and finish; the
// (private) server crashes and restarts mid-run. No acknowledged enqueue is
// lost, the pool reconnects by itself, in-flight jobs are finished or
// rescued, and every job ends completed.
func TestFaultServerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a private PostgreSQL server; skipped with -short")
	}
	t.Parallel()
	pg := startPrivatePG(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b, err := New(ctx, Config{URL: pg.url(), Schema: "fault4", MaxConns: 8})
	require.NoError(t, err)
	defer b.Close()
	now := time.Now()

	const total = 1000
	var acked sync.Map // id -> true once JobEnqueue returned success
	var nAcked atomic.Int64
	restarted := make(chan struct{})
	halfway := make(chan struct{})
	var halfOnce sync.Once
	retry := func(f func() error) {
		for f() != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(20 * time.Millisecond): // back off while the server is down
			}
		}
	}
	var producers sync.WaitGroup
	ids := make(chan string, total)
	for range total {
		ids <- newID(t)
	}
	close(ids)
	for range 4 {
		producers.Go(func() {
			for id := range ids {
				in := &backend.JobInsert{ID: id, Kind: "k", Queue: "default", Args: []byte(`{}`), MaxAttempts: 5, Timeout: time.Minute, RunAt: now}
				retry(func() error {
					// A retried enqueue after an error reuses the ID: stored once.
					_, err := b.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{in}, Now: now})
					return err
				})
				acked.Store(id, true)
				if nAcked.Add(1) == total/3 {
					halfOnce.Do(func() { close(halfway) })
				}
			}
		})
	}
	// Workers: claim and finish; errors (server down) are retried.
	workCtx, stopWork := context.WithCancel(ctx)
	var workers sync.WaitGroup
	var completed atomic.Int64
	for range 2 {
		workers.Go(func() {
			for workCtx.Err() == nil {
				res, err := b.JobClaim(workCtx, &backend.JobClaimParams{Queue: "default", Limit: 20, Owner: "w", LeaseDuration: time.Minute, Now: now})
				if err != nil || len(res.Jobs) == 0 {
					select {
					case <-workCtx.Done():
					case <-time.After(10 * time.Millisecond): // poll interval
					}
					continue
				}
				var outs []*backend.JobOutcome
				for _, j := range res.Jobs {
					outs = append(outs, &backend.JobOutcome{ID: j.ID, LeaseToken: j.LeaseToken, Outcome: backend.OutcomeCompleted})
				}
				// A finish lost with the connection leaves the jobs running:
				// the rescuer hands them back after the lease.
				if fin, err := b.JobFinish(workCtx, &backend.JobFinishParams{Jobs: outs, Now: now}); err == nil {
					completed.Add(int64(len(outs) - len(fin.LeaseLost)))
				}
			}
		})
	}
	<-halfway
	pg.crash()
	pg.start()
	close(restarted)
	producers.Wait()
	<-restarted
	require.Equal(t, int64(total), nAcked.Load())

	// Everything acknowledged is there.
	acked.Range(func(k, _ any) bool {
		_, err := b.JobGet(ctx, &backend.JobGetParams{ID: k.(string)})
		require.NoError(t, err, "acknowledged job %s lost", k)
		return true
	})
	// Jobs left running by a lost finish are rescued once their lease is
	// over (Now moved past it) and then completed by the workers.
	require.Eventually(t, func() bool {
		_, _ = b.JobRescue(ctx, &backend.JobRescueParams{Now: now.Add(2 * time.Minute)})
		q, err := b.QueueList(ctx, &backend.QueueListParams{Now: now})
		if err != nil || len(q.Queues) != 1 {
			return false
		}
		return q.Queues[0].Counts[backend.StateCompleted] == total
	}, 2*time.Minute, 50*time.Millisecond)
	stopWork()
	workers.Wait()
}

// Fault 6: a worker is cut off from the database for longer than its lease;
// meanwhile the job is rescued and re-run elsewhere; when the worker comes
// back, its late completion is rejected.
func TestFaultWorkerCutOff(t *testing.T) {
	t.Parallel()
	x := setup(t)
	u, err := url.Parse(backendtest.PostgresURL())
	require.NoError(t, err)
	px := backendtest.StartCutProxy(t, u.Host)
	u.Host = px.Addr()
	cutoff, err := New(x.ctx, Config{URL: u.String(), Schema: x.b.Schema(), SkipMigrate: true, MaxConns: 2})
	require.NoError(t, err)
	defer cutoff.Close()

	in := insert(t, x.now)
	x.enqueue(t, in)
	res, err := cutoff.JobClaim(x.ctx, &backend.JobClaimParams{Queue: "default", Limit: 1, Owner: "cut", LeaseDuration: 30 * time.Second, Now: x.now})
	require.NoError(t, err)
	require.Len(t, res.Jobs, 1)
	stale := res.Jobs[0]

	px.SetCut(true)
	hbCtx, cancel := context.WithTimeout(x.ctx, 5*time.Second)
	_, err = cutoff.LeaseExtend(hbCtx, &backend.LeaseExtendParams{Now: x.now, Duration: 30 * time.Second, Leases: []backend.Lease{{ID: stale.ID, LeaseToken: stale.LeaseToken}}})
	cancel()
	require.Error(t, err, "heartbeat fails while cut off")

	x.now = x.now.Add(time.Minute)
	rescued, err := x.b.JobRescue(x.ctx, &backend.JobRescueParams{Now: x.now})
	require.NoError(t, err)
	require.Len(t, rescued.Jobs, 1)
	again := x.claim(t, 1)[0]
	_, err = x.b.JobFinish(x.ctx, &backend.JobFinishParams{Now: x.now, Jobs: []*backend.JobOutcome{{ID: again.ID, LeaseToken: again.LeaseToken, Outcome: backend.OutcomeCompleted}}})
	require.NoError(t, err)

	px.SetCut(false)
	require.Eventually(t, func() bool { return cutoff.Ping(x.ctx) == nil }, 30*time.Second, 20*time.Millisecond, "the pool reconnects by itself")
	fin, err := cutoff.JobFinish(x.ctx, &backend.JobFinishParams{Now: x.now, Jobs: []*backend.JobOutcome{{ID: stale.ID, LeaseToken: stale.LeaseToken, Outcome: backend.OutcomeCompleted, Result: []byte(`"late"`)}}})
	require.NoError(t, err)
	require.Equal(t, []string{stale.ID}, fin.LeaseLost)
	j := x.get(t, in.ID)
	require.Equal(t, backend.StateCompleted, j.State)
	require.Equal(t, 2, j.Attempt)
	require.Empty(t, j.Result, "the late result is not stored")
}

// Fault 7: a producer retries an enqueue after a timeout (the first attempt
// may or may not have committed), and two producers enqueue one key at once:
// exactly one job either way.
func TestFaultUniqueRetriedAndConcurrent(t *testing.T) {
	t.Parallel()
	x := setup(t)
	for i := range 20 {
		in := insert(t, x.now)
		in.UniqueKey = "retried-" + in.ID
		short, cancel := context.WithTimeout(x.ctx, time.Duration(i)*200*time.Microsecond)
		_, firstErr := x.b.JobEnqueue(short, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{in}, Now: x.now})
		cancel()
		if firstErr != nil {
			require.True(t, errors.Is(firstErr, context.DeadlineExceeded) || short.Err() != nil, firstErr)
		}
		res := x.enqueue(t, in)
		require.Equal(t, in.ID, res.Jobs[0].ID)
		if firstErr == nil {
			require.True(t, res.Jobs[0].Duplicate, "the first attempt stored it")
		} // else it may or may not have committed: either way one job (checked below)
	}
	l, err := x.b.JobList(x.ctx, &backend.JobListParams{Limit: 1000})
	require.NoError(t, err)
	require.Len(t, l.Jobs, 20)

	for round := range 10 {
		key := "concurrent-" + string(rune('a'+round))
		var wg sync.WaitGroup
		got := make([]backend.EnqueueOutcome, 2)
		for p := range 2 {
			wg.Go(func() {
				in := insert(t, x.now)
				in.UniqueKey = key
				res, err := x.b.JobEnqueue(x.ctx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{in}, Now: x.now})
				if err == nil {
					got[p] = res.Jobs[0]
				}
			})
		}
		wg.Wait()
		require.Equal(t, got[0].ID, got[1].ID)
		require.NotEqual(t, got[0].Duplicate, got[1].Duplicate, "one stored, one duplicate")
	}
}

// Fault 10: a job delayed longer than the lease, and a job running longer
// than its lease while heartbeating, each run exactly once.
func TestFaultLongDelayAndLongRun(t *testing.T) {
	t.Parallel()
	x := setup(t)
	lease := 30 * time.Second
	delayed := insert(t, x.now.Add(3*lease))
	long := insert(t, x.now)
	x.enqueue(t, delayed, long)
	running := x.claim(t, 10)
	require.Len(t, running, 1)
	require.Equal(t, long.ID, running[0].ID)
	// The long job heartbeats every lease/2 for 4 leases; sweeps in between
	// rescue nothing and the delayed job is claimed once, when due.
	var delayedClaims int
	for step := 1; step <= 8; step++ {
		x.now = x.now.Add(lease / 2)
		ext, err := x.b.LeaseExtend(x.ctx, &backend.LeaseExtendParams{Now: x.now, Duration: lease, Leases: []backend.Lease{{ID: long.ID, LeaseToken: running[0].LeaseToken}}})
		require.NoError(t, err)
		require.Empty(t, ext.Lost)
		res, err := x.b.JobRescue(x.ctx, &backend.JobRescueParams{Now: x.now})
		require.NoError(t, err)
		require.Empty(t, res.Jobs)
		_, err = x.b.JobPromote(x.ctx, &backend.JobPromoteParams{Now: x.now})
		require.NoError(t, err)
		for _, j := range x.claim(t, 10) {
			require.Equal(t, delayed.ID, j.ID)
			require.False(t, x.now.Before(delayed.RunAt))
			delayedClaims++
			_, err := x.b.JobFinish(x.ctx, &backend.JobFinishParams{Now: x.now, Jobs: []*backend.JobOutcome{{ID: j.ID, LeaseToken: j.LeaseToken, Outcome: backend.OutcomeCompleted}}})
			require.NoError(t, err)
		}
	}
	require.Equal(t, 1, delayedClaims)
	fin, err := x.b.JobFinish(x.ctx, &backend.JobFinishParams{Now: x.now, Jobs: []*backend.JobOutcome{{ID: long.ID, LeaseToken: running[0].LeaseToken, Outcome: backend.OutcomeCompleted}}})
	require.NoError(t, err)
	require.Empty(t, fin.LeaseLost)
	for _, id := range []string{delayed.ID, long.ID} {
		j := x.get(t, id)
		require.Equal(t, backend.StateCompleted, j.State)
		require.Equal(t, 1, j.Attempt)
	}
}
