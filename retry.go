package conveyor

import (
	"math"
	"math/rand/v2"
	"time"
)

// BackoffPolicy is the exponential backoff of DESIGN.md §3.8: attempt^4
// seconds + Base + a random jitter in [0, Jitter*attempt), capped at Max.
// The zero value uses the defaults.
type BackoffPolicy struct {
	// Base is added to every delay. Default 15s.
	Base time.Duration
	// Jitter is the per-attempt width of the random part. Default 10s.
	Jitter time.Duration
	// Max caps the delay. Default 24h.
	Max time.Duration
}

// NextRetry implements RetryPolicy.
func (p *BackoffPolicy) NextRetry(job *JobRecord, _ error) time.Duration {
	base, jitter, maxDelay := p.Base, p.Jitter, p.Max
	if base == 0 {
		base = 15 * time.Second
	}
	if jitter == 0 {
		jitter = 10 * time.Second
	}
	if maxDelay == 0 {
		maxDelay = 24 * time.Hour
	}
	attempt := max(job.Attempt, 1)
	secs := math.Pow(float64(attempt), 4)
	if secs > maxDelay.Seconds() {
		return maxDelay
	}
	d := time.Duration(secs*float64(time.Second)) + base
	if j := jitter * time.Duration(attempt); j > 0 {
		d += rand.N(j)
	}
	return min(d, maxDelay)
}

// DefaultRetryPolicy is used by kinds without a RetryPolicy.
var DefaultRetryPolicy RetryPolicy = &BackoffPolicy{}

// FixedRetryPolicy retries after the same delay every time (tests, simple
// rate limits).
type FixedRetryPolicy time.Duration

// NextRetry implements RetryPolicy.
func (p FixedRetryPolicy) NextRetry(*JobRecord, error) time.Duration { return time.Duration(p) }
