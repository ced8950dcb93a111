// Command etl is a three-step ETL pipeline on conveyor: extract parses CSV,
// transform aggregates, load writes to a warehouse. Each step is a job that
// enqueues the next, so each retries on its own; the steps share a BaseJob
// (client, resources from OnStartup) and a timing middleware.
//
//	go run ./examples/etl --backend memory:
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"conveyor"
	"conveyor/backend"
	_ "conveyor/backend/all"
)

func main() {
	url := flag.String("backend", "memory:", "backend URL")
	flag.Parse()
	if err := run(*url); err != nil {
		fmt.Fprintln(os.Stderr, "etl:", err)
		os.Exit(1)
	}
}

func run(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := backend.Open(ctx, url)
	if err != nil {
		return err
	}
	defer b.Close()
	c, err := conveyor.NewClient(b, conveyor.ClientConfig{})
	if err != nil {
		return err
	}
	wh := NewWarehouse()
	ws := conveyor.NewWorkers()
	if err := (Pipeline{BaseJob{Client: c}}).Register(ws); err != nil {
		return err
	}
	w, err := conveyor.NewWorker(b, ws, conveyor.WorkerConfig{OnStartup: OnStartup(wh), Logger: slog.Default(), PollInterval: 50 * time.Millisecond})
	if err != nil {
		return err
	}
	if err := w.Start(ctx); err != nil {
		return err
	}
	defer w.Stop(context.Background())

	if _, err := c.Enqueue(ctx, KindExtract, ExtractArgs{Batch: "b1", CSV: "alice,10\nBob,5\nalice,2.5\n"}, nil); err != nil {
		return err
	}
	for {
		if v, ok := wh.Total("b1", "alice"); ok {
			fmt.Printf("loaded: alice=%.1f\n", v)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
