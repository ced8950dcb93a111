package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"conveyor/bench/harness"
)

// system is a harness.System that also owns connections to release.
type system interface {
	harness.System
	Close(ctx context.Context) error
}

func main() {
	var (
		sys      = flag.String("system", "river", "system to run: river (PostgreSQL) or asynq (Redis)")
		workload = flag.String("workload", "all", "insert|batch|work|latency|all")
		jobs     = flag.Int("jobs", 0, "N for insert/batch/work (0 = harness default per workload)")
		workers  = flag.Int("workers", 0, "C, concurrent workers for work/latency (0 = harness default)")
		pgURL    = flag.String("pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL URL for River")
		redisURL = flag.String("redis", "127.0.0.1:6379", "Redis address for asynq")
		redisDB  = flag.Int("redis-db", 15, "Redis database number for asynq; flushed before and after each workload")
		timeout  = flag.Duration("timeout", 5*time.Minute, "time limit of one workload")
	)
	flag.Parse()
	if err := run(*sys, *workload, *jobs, *workers, *timeout, *pgURL, *redisURL, *redisDB); err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(1)
	}
}

func run(name, workload string, jobs, workers int, timeout time.Duration, pgURL, redisAddr string, redisDB int) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	workloads, err := harness.ParseWorkloads(workload)
	if err != nil {
		return err
	}
	var s system
	switch name {
	case "river":
		s, err = newRiver(ctx, pgURL)
	case "asynq":
		s, err = newAsynq(ctx, redisAddr, redisDB)
	default:
		return fmt.Errorf("unknown system %q (want river or asynq)", name)
	}
	if err != nil {
		return err
	}
	defer func() {
		if cerr := s.Close(context.WithoutCancel(ctx)); cerr != nil {
			fmt.Fprintln(os.Stderr, "peers: close:", cerr)
		}
	}()
	enc := json.NewEncoder(os.Stdout)
	for _, w := range workloads {
		res, err := harness.Run(ctx, s, harness.Config{Workload: w, Jobs: jobs, Workers: workers, Timeout: timeout, Progress: os.Stderr})
		if err != nil {
			return err
		}
		if err := enc.Encode(res); err != nil {
			return err
		}
	}
	return nil
}
