package maintenance

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"conveyor/backend"
	"conveyor/internal/clock"

	"github.com/stretchr/testify/require"
)

// stubJobs records the maintenance calls; other Jobs methods panic (nil
// embedded interface).
type stubJobs struct {
	backend.Jobs

	mu       sync.Mutex
	rescues  []*backend.JobRescueParams
	promotes []*backend.JobPromoteParams
	prunes   []*backend.JobPruneParams

	rescueResult *backend.JobRescueResult
	pruneDeleted map[backend.JobState][]int // successive Deleted per state
	err          error
	called       chan struct{} // receives after each call, if not nil
}

func (s *stubJobs) notify() {
	if s.called != nil {
		select {
		case s.called <- struct{}{}:
		default:
		}
	}
}

func (s *stubJobs) JobRescue(_ context.Context, p *backend.JobRescueParams) (*backend.JobRescueResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notify()
	s.rescues = append(s.rescues, p)
	if s.err != nil {
		return nil, s.err
	}
	if s.rescueResult == nil {
		return &backend.JobRescueResult{}, nil
	}
	return s.rescueResult, nil
}

func (s *stubJobs) JobPromote(_ context.Context, p *backend.JobPromoteParams) (*backend.JobPromoteResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notify()
	s.promotes = append(s.promotes, p)
	if s.err != nil {
		return nil, s.err
	}
	return &backend.JobPromoteResult{Promoted: 3}, nil
}

func (s *stubJobs) JobPrune(_ context.Context, p *backend.JobPruneParams) (*backend.JobPruneResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notify()
	s.prunes = append(s.prunes, p)
	if s.err != nil {
		return nil, s.err
	}
	n := 0
	if q := s.pruneDeleted[p.State]; len(q) > 0 {
		n, s.pruneDeleted[p.State] = q[0], q[1:]
	}
	return &backend.JobPruneResult{Deleted: n}, nil
}

var start = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

type bundle struct {
	stub  *stubJobs
	clock *clock.Fake
	ticks chan time.Time
	c     Common
}

func setup(t *testing.T) *bundle {
	t.Helper()
	t.Parallel()
	b := &bundle{stub: &stubJobs{}, clock: clock.NewFake(start), ticks: make(chan time.Time)}
	b.c = Common{Clock: b.clock, Ticks: b.ticks, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return b
}

// tick makes the service run once and returns after that run finished: the
// second send on the unbuffered channel is taken only by the loop's next
// select, after the first run.
func (b *bundle) tick(t *testing.T) {
	t.Helper()
	for range 2 {
		select {
		case b.ticks <- b.clock.Now():
		case <-time.After(10 * time.Second):
			t.Fatal("service did not take the tick")
		}
	}
}

type startStopper interface {
	Start(context.Context) error
	Stop()
}

func startService(t *testing.T, s startStopper) {
	t.Helper()
	require.NoError(t, s.Start(t.Context()))
	t.Cleanup(s.Stop)
}

func TestRescuer(t *testing.T) {
	t.Run("RescuesEachTickAtClockTime", func(t *testing.T) {
		b := setup(t)
		b.stub.rescueResult = &backend.JobRescueResult{Jobs: []backend.RescuedJob{
			{ID: "a", Kind: "k", Queue: "q", State: backend.StateQueued},
			{ID: "b", Kind: "k", Queue: "q", State: backend.StateFailed},
		}}
		var mu sync.Mutex
		var rescued []string
		r := NewRescuer(RescuerConfig{Common: b.c, Backend: b.stub, OnRescued: func(j backend.RescuedJob) {
			mu.Lock()
			rescued = append(rescued, j.ID)
			mu.Unlock()
		}})
		startService(t, r)
		b.tick(t) // two runs: one per tick sent
		b.clock.Advance(time.Minute)
		b.tick(t)
		b.stub.mu.Lock()
		defer b.stub.mu.Unlock()
		require.GreaterOrEqual(t, len(b.stub.rescues), 3, "no run at Start with injected ticks; one per tick")
		require.Equal(t, start, b.stub.rescues[0].Now)
		require.Equal(t, start.Add(time.Minute), b.stub.rescues[len(b.stub.rescues)-1].Now, "Now comes from the clock")
		mu.Lock()
		defer mu.Unlock()
		require.Equal(t, []string{"a", "b"}, rescued[:2])
	})

	t.Run("ErrorDoesNotStopTheLoop", func(t *testing.T) {
		b := setup(t)
		b.stub.err = errors.New("store down")
		r := NewRescuer(RescuerConfig{Common: b.c, Backend: b.stub})
		startService(t, r)
		b.tick(t)
		b.tick(t)
		b.stub.mu.Lock()
		defer b.stub.mu.Unlock()
		require.GreaterOrEqual(t, len(b.stub.rescues), 3)
	})

	t.Run("RealTickerRunsAtStart", func(t *testing.T) {
		t.Parallel()
		stub := &stubJobs{called: make(chan struct{}, 1)}
		r := NewRescuer(RescuerConfig{Common: Common{Interval: time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, Backend: stub})
		startService(t, r)
		select {
		case <-stub.called:
		case <-time.After(10 * time.Second):
			t.Fatal("rescuer did not run at Start")
		}
	})
}

func TestPromoter(t *testing.T) {
	b := setup(t)
	p := NewPromoter(PromoterConfig{Common: b.c, Backend: b.stub})
	require.Equal(t, DefaultPromoteInterval, p.cfg.Interval)
	startService(t, p)
	b.clock.Advance(5 * time.Second)
	b.tick(t)
	b.stub.mu.Lock()
	defer b.stub.mu.Unlock()
	require.GreaterOrEqual(t, len(b.stub.promotes), 1)
	require.Equal(t, start.Add(5*time.Second), b.stub.promotes[0].Now)
}

func TestPruner(t *testing.T) {
	t.Run("PerStateRetention", func(t *testing.T) {
		b := setup(t)
		p := NewPruner(PrunerConfig{Common: b.c, Backend: b.stub, Retention: Retention{Failed: time.Hour, Cancelled: -1}})
		startService(t, p)
		b.tick(t)
		b.stub.mu.Lock()
		defer b.stub.mu.Unlock()
		got := map[backend.JobState]time.Time{}
		for _, c := range b.stub.prunes {
			got[c.State] = c.FinishedBefore
			require.Equal(t, pruneBatch, c.Limit)
		}
		require.Equal(t, map[backend.JobState]time.Time{
			backend.StateCompleted: start.Add(-DefaultRetainCompleted),
			backend.StateFailed:    start.Add(-time.Hour),
		}, got, "cancelled kept for ever (negative retention)")
	})

	t.Run("FullBatchesRepeat", func(t *testing.T) {
		b := setup(t)
		b.stub.pruneDeleted = map[backend.JobState][]int{backend.StateCompleted: {pruneBatch, pruneBatch, 7}}
		p := NewPruner(PrunerConfig{Common: b.c, Backend: b.stub})
		startService(t, p)
		b.tick(t)
		b.stub.mu.Lock()
		defer b.stub.mu.Unlock()
		n := 0
		for _, c := range b.stub.prunes {
			if c.State == backend.StateCompleted {
				n++
			}
		}
		require.GreaterOrEqual(t, n, 3, "calls again while batches come back full")
	})
}

func TestServiceLifecycle(t *testing.T) {
	t.Parallel()
	stub := &stubJobs{}
	r := NewRescuer(RescuerConfig{Common: Common{Ticks: make(chan time.Time)}, Backend: stub})
	r.Stop() // before Start: no-op
	require.NoError(t, r.Start(context.Background()))
	require.Error(t, r.Start(context.Background()), "second Start")
	r.Stop()
	r.Stop() // idempotent
}

// The pruner's first run comes an interval after Start, not at Start.
func TestPrunerWaitsAnIntervalFirst(t *testing.T) {
	t.Parallel()
	const interval = 300 * time.Millisecond
	stub := &stubJobs{called: make(chan struct{}, 1)}
	p := NewPruner(PrunerConfig{Common: Common{Interval: interval, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, Backend: stub})
	began := time.Now()
	startService(t, p)
	select {
	case <-stub.called:
		require.GreaterOrEqual(t, time.Since(began), interval, "the first prune waits an interval")
	case <-time.After(10 * time.Second):
		t.Fatal("pruner never ran")
	}
}
