package harness

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Counter counts completions and remembers when the last one happened. It is
// safe for concurrent use. Systems call Add as completions are committed.
type Counter struct {
	n    atomic.Int64
	mu   sync.Mutex
	last time.Time
	// wake gets a token on every Add so Wait re-checks without polling hard.
	wake chan struct{}
}

// NewCounter returns a zero counter.
func NewCounter() *Counter { return &Counter{wake: make(chan struct{}, 1)} }

// Add records k completions that happened now.
func (c *Counter) Add(k int64) { c.AddAt(k, time.Now()) }

// AddAt records k completions observed at t (a poller passes the time it saw
// them). The latest t is kept.
func (c *Counter) AddAt(k int64, t time.Time) {
	if k <= 0 {
		return
	}
	c.mu.Lock()
	if t.After(c.last) {
		c.last = t
	}
	c.mu.Unlock()
	c.n.Add(k)
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Load returns the count.
func (c *Counter) Load() int64 { return c.n.Load() }

// Last returns the time of the latest Add.
func (c *Counter) Last() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// Wait blocks until the count reaches target or ctx ends.
func (c *Counter) Wait(ctx context.Context, target int64) error {
	for c.n.Load() < target {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.wake:
		}
	}
	return nil
}

// percentiles returns the p50 and p99 of ds in milliseconds (0, 0 if empty),
// by the nearest-rank method.
func percentiles(ds []time.Duration) (p50, p99 float64) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		i = max(0, min(i, len(s)-1))
		return round(float64(s[i])/float64(time.Millisecond), 3)
	}
	return rank(0.50), rank(0.99)
}

func round(x float64, digits int) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
