package sqlite_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"conveyor/backend"
	"conveyor/backend/sqlite"
)

func claimAt(t *testing.T, b *sqlite.Backend, queue string, limit int, now time.Time) []*backend.Job {
	t.Helper()
	res, err := b.JobClaim(t.Context(), &backend.JobClaimParams{Queue: queue, Limit: limit, Owner: "w", LeaseDuration: time.Minute, Now: now})
	require.NoError(t, err)
	return res.Jobs
}

// TestClaimOrderExtremePriorities: the claim's hand-out order compares
// priorities without subtracting them (which overflowed).
func TestClaimOrderExtremePriorities(t *testing.T) {
	t.Parallel()
	b, _ := newBackend(t)
	lo, hi := insert("q"), insert("q")
	lo.Priority, hi.Priority = math.MinInt, 1
	enqueue(t, b, lo, hi)
	got := claimAt(t, b, "q", 2, base)
	require.Len(t, got, 2)
	require.Equal(t, []string{hi.ID, lo.ID}, []string{got[0].ID, got[1].ID})
}

// TestListenWithForeignWakeOff: broadcasts are polled even when the
// cross-process wake poller is off (a negative interval used to panic).
func TestListenWithForeignWakeOff(t *testing.T) {
	t.Parallel()
	b, err := sqlite.New(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "c.db"), ForeignWakeInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	ch, err := b.Listen(ctx)
	require.NoError(t, err)
	require.NoError(t, b.Broadcast(ctx, []byte("hi")))
	select {
	case m := <-ch:
		require.Equal(t, "hi", string(m))
	case <-ctx.Done():
		t.Fatal("no message")
	}
}

// TestClaimCancelledLeavesNothingRunning: a claim whose ctx ends while its
// rows are read either hands its jobs out or leases none of them (it used
// to commit the lease of the whole batch and report an error).
func TestClaimCancelledLeavesNothingRunning(t *testing.T) {
	t.Parallel()
	b, _ := newBackend(t)
	for round := range 60 {
		jobs := make([]*backend.JobInsert, 500)
		for i := range jobs {
			jobs[i] = insert("q")
		}
		enqueue(t, b, jobs...)
		ctx, cancel := context.WithCancel(t.Context())
		go func() { time.Sleep(time.Duration(round%40) * 50 * time.Microsecond); cancel() }()
		res, err := b.JobClaim(ctx, &backend.JobClaimParams{Queue: "q", Limit: 500, Owner: "w", LeaseDuration: time.Minute, Now: base})
		cancel()
		l, lerr := b.QueueList(t.Context(), &backend.QueueListParams{Now: base})
		require.NoError(t, lerr)
		running := l.Queues[0].Counts[backend.StateRunning]
		if err != nil {
			require.Zero(t, running, "round %d: the claim failed (%v), yet jobs are running", round, err)
		} else {
			require.Equal(t, len(res.Jobs), running, "round %d", round)
		}
		_, err = b.DB().ExecContext(t.Context(), `DELETE FROM jobs`)
		require.NoError(t, err)
	}
}
