package worker

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"conveyor/backend"
)

// nullStore hands out pre-built jobs and accepts every outcome: a backend
// that costs (almost) nothing, so BenchmarkRuntimeOverhead measures the
// runtime alone.
type nullStore struct {
	backend.Backend // nil: only the methods below are called
	mu              sync.Mutex
	jobs            []*backend.Job
	finished        atomic.Int64
}

func (s *nullStore) Capabilities() backend.Capabilities { return backend.Capabilities{Name: "null"} }

func (s *nullStore) JobClaim(_ context.Context, p *backend.JobClaimParams) (*backend.JobClaimResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(p.Limit, len(s.jobs))
	out := s.jobs[:n:n]
	s.jobs = s.jobs[n:]
	return &backend.JobClaimResult{Jobs: out}, nil
}

func (s *nullStore) JobFinish(_ context.Context, p *backend.JobFinishParams) (*backend.JobFinishResult, error) {
	s.finished.Add(int64(len(p.Jobs)))
	return &backend.JobFinishResult{}, nil
}

func (s *nullStore) LeaseExtend(_ context.Context, p *backend.LeaseExtendParams) (*backend.LeaseExtendResult, error) {
	return &backend.LeaseExtendResult{}, nil
}

// BenchmarkRuntimeOverhead drains 100k no-op jobs from a store that costs
// nothing: the runtime's own ceiling (fetch, dispatch, handler call,
// completer), to compare with BurnDown on a real backend.
func BenchmarkRuntimeOverhead(b *testing.B) {
	const n = 100_000
	for _, slots := range []int{100, 1000, 2000} {
		b.Run("slots="+strconv.Itoa(slots), func(b *testing.B) {
			var total, cpu time.Duration
			for range b.N {
				b.StopTimer()
				jobs := make([]*backend.Job, n)
				for i := range jobs {
					jobs[i] = &backend.Job{ID: strconv.Itoa(i), Kind: "k", Queue: "default", Args: json.RawMessage(`{}`), Attempt: 1, MaxAttempts: 3, Timeout: time.Minute, LeaseToken: "t"}
				}
				s := &nullStore{jobs: jobs}
				done := make(chan struct{})
				var ran atomic.Int64
				w, err := New(Config{
					Backend: s, ID: "bench", RetryPolicy: fixedPolicy(0),
					Queues: map[string]int{"default": slots},
					Kinds: map[string]*Kind{"k": {Handler: HandlerFunc(func(context.Context, *backend.Job) (json.RawMessage, error) {
						if ran.Add(1) == n {
							close(done)
						}
						return nil, nil
					})}},
					Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start, startCPU := time.Now(), processCPU()
				_ = w.Start(context.Background())
				<-done
				_ = w.Stop(context.Background())
				total += time.Since(start)
				cpu += processCPU() - startCPU
				if s.finished.Load() != n {
					b.Fatalf("%d finished, want %d", s.finished.Load(), n)
				}
			}
			b.ReportMetric(float64(n*b.N)/total.Seconds(), "jobs/s")
			if cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(n*b.N), "cpu-ns/job")
			}
		})
	}
}
