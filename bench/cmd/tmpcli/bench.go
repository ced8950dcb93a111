package main

import (
	"encoding/json"
	"fmt"
	"time"

	"conveyor/bench"
	"conveyor/bench/harness"

	"github.com/spf13/cobra"
)

// newBenchCmd is `conveyor bench`: it measures conveyor on one backend with
// the workloads of DESIGN.md §9 and prints one JSON line per workload.
func newBenchCmd() *cobra.Command {
	var (
		backendURL string
		workload   string
		jobs       int
		workers    int
		timeout    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "bench --backend URL [--workload insert|batch|work|latency|all] [--jobs N] [--workers C]",
		Short: "Measure enqueue throughput, work throughput and latency on a backend",
		Long: `bench runs conveyor's own Client and Worker on a backend and prints one JSON line per workload:
{"system","workload","jobs","seconds","jobs_per_sec","p50_ms","p99_ms",…}

  insert   N jobs enqueued one by one from 16 goroutines (p50/p99: per call)
  batch    N jobs in batches of 1000 (p50/p99: per batch)
  work     N no-op jobs enqueued first, then drained by C workers, timed up to
           the last completion committed to the backend
  latency  500 jobs/s for 5 s with C workers running: enqueue -> handler start

It uses a queue of its own (bench-<random>), purged before and after each
workload, and touches nothing else. Progress goes to stderr. bench/compare.sh
compares the figures with River and asynq.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if backendURL == "" {
				return fmt.Errorf("--backend is required (e.g. memory:, sqlite:bench.db, postgres://…, redis://…, nats://…)")
			}
			workloads, err := harness.ParseWorkloads(workload)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			for _, w := range workloads {
				res, err := bench.Run(cmd.Context(), bench.Config{
					BackendURL: backendURL,
					Workload:   w,
					Jobs:       jobs,
					Workers:    workers,
					Timeout:    timeout,
					Progress:   cmd.ErrOrStderr(),
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
	f.StringVar(&backendURL, "backend", "", "backend URL (required)")
	f.StringVar(&workload, "workload", "all", "insert, batch, work, latency, all, or a comma-separated list")
	f.IntVar(&jobs, "jobs", 0, "N for insert, batch and work (default 5000 insert, 20000 batch and work)")
	f.IntVar(&workers, "workers", 0, fmt.Sprintf("C, worker concurrency for work and latency (default %d)", harness.DefaultWorkers))
	f.DurationVar(&timeout, "timeout", 5*time.Minute, "time limit of one workload")
	return cmd
}
