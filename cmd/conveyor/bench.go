package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"conveyor/bench"
	"conveyor/bench/harness"

	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newBenchCmd) }

// newBenchCmd is `conveyor bench` (DESIGN.md §9): it measures conveyor on
// one backend and prints one JSON line per workload.
func newBenchCmd() *cobra.Command {
	var (
		workload string
		jobs     int
		workers  int
		timeout  time.Duration
		profile  string
	)
	cmd := &cobra.Command{
		Use:   "bench --backend URL [--workload insert|batch|work|latency|all] [--jobs N] [--workers C]",
		Short: "Measure enqueue and work throughput and latency on a backend",
		Long: `bench runs conveyor's own Client and Worker on a backend and prints one JSON line per workload:
{"system","workload","jobs","seconds","jobs_per_sec","p50_ms","p99_ms",…}

  insert   N jobs enqueued one by one from 16 goroutines (p50/p99: per call)
  batch    N jobs in batches of 1000 (p50/p99: per batch)
  work     N no-op jobs enqueued first, then drained by C workers, timed up to
           the last completion committed to the backend
  latency  500 jobs/s for 5 s with C workers running: enqueue -> handler start

The backend comes from --backend or $CONVEYOR_BACKEND (no default: a benchmark
should not land in your working database by accident). bench uses a queue of
its own (bench-<random>), purged before and after each workload, and touches
nothing else. Progress goes to stderr. bench/compare.sh compares the figures
with River and asynq; bench/report.sh regenerates BENCHMARKS.md.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			url, _ := cmd.Flags().GetString("backend")
			if url == "" {
				url = os.Getenv(envBackend)
			}
			if url == "" {
				return usageErrorf("bench: --backend is required (memory:, sqlite:PATH, postgres://…, redis://…, nats://…)")
			}
			workloads, err := harness.ParseWorkloads(workload)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("bench: %w", err))
			}
			if jobs < 0 || workers < 0 || timeout < 0 {
				return usageErrorf("bench: --jobs, --workers and --timeout must not be negative")
			}
			if profile != "" {
				stop, err := startCPUProfile(profile)
				if err != nil {
					return withCode(exitUsage, fmt.Errorf("bench: --cpuprofile: %w", err))
				}
				defer stop()
			}
			ctx := cmd.Context()
			sys, err := bench.Open(ctx, url, nil, cmd.ErrOrStderr())
			if err != nil {
				return withCode(exitUnavailable, err)
			}
			defer sys.Close()
			enc := json.NewEncoder(cmd.OutOrStdout())
			for _, w := range workloads {
				res, err := harness.Run(ctx, sys, harness.Config{
					Workload: w,
					Jobs:     jobs,
					Workers:  workers,
					Timeout:  timeout,
					Progress: cmd.ErrOrStderr(),
				})
				if err != nil {
					return err
				}
				if err := enc.Encode(res); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&workload, "workload", "all", "insert, batch, work, latency, all, or a comma-separated list")
	f.IntVar(&jobs, "jobs", 0, fmt.Sprintf("N for insert, batch and work (default %d insert, %d batch, %d work)",
		harness.DefaultJobs(harness.WorkloadInsert), harness.DefaultJobs(harness.WorkloadBatch), harness.DefaultJobs(harness.WorkloadWork)))
	f.IntVar(&workers, "workers", 0, fmt.Sprintf("C, worker concurrency for work and latency (default %d)", harness.DefaultWorkers))
	f.DurationVar(&timeout, "timeout", 5*time.Minute, "time limit of one workload")
	f.StringVar(&profile, "cpuprofile", "", "write a Go CPU profile of the whole run to this file (for go tool pprof)")
	return cmd
}

// startCPUProfile profiles this process into path until the returned stop
// is called. The profile covers the client and worker side only: the
// backend's server (PostgreSQL, Redis, NATS) is another process.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
