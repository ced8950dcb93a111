package maintenance

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"conveyor/internal/clock"
)

// Common are the settings every service shares. Zero values mean defaults.
type Common struct {
	// Interval is the time between runs. Default: per service.
	Interval time.Duration
	// Clock supplies the Now of backend calls. Default the wall clock.
	Clock clock.Clock
	// Logger receives the service's logs. Default slog.Default().
	Logger *slog.Logger
	// Ticks, when set, replaces the interval timer: the service runs once
	// per value received (and not at Start). For tests: sending two ticks on
	// an unbuffered channel returns once the first run has finished.
	Ticks <-chan time.Time
}

// service runs work every interval until stopped, and at Start too unless
// it was made with waitFirst.
type service struct {
	name string
	c    Common
	work func(ctx context.Context)
	// waitFirst skips the run at Start: for work that is never urgent and
	// would only compete with a starting worker's first claims.
	waitFirst bool

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

func newService(name string, c Common, def time.Duration, work func(ctx context.Context)) *service {
	if c.Interval <= 0 {
		c.Interval = def
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return &service{name: name, c: c, work: work}
}

// Start launches the service's loop; it does not block. The loop ends when
// ctx ends or Stop is called.
func (s *service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done != nil {
		return errors.New(s.name + ": already started")
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go s.loop(ctx, s.done)
	return nil
}

// Stop ends the loop and waits for a run in progress. Idempotent; safe
// before Start.
func (s *service) Stop() {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

func (s *service) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	ticks := s.c.Ticks
	if ticks == nil {
		t := time.NewTicker(s.c.Interval)
		defer t.Stop()
		ticks = t.C
		if !s.waitFirst {
			s.work(ctx)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			s.work(ctx)
		}
	}
}
