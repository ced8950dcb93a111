package conveyor_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"conveyor"
	"conveyor/backend/memory"
)

// SendEmail is the args of the "email.send" jobs of the example.
type SendEmail struct {
	To string `json:"to"`
}

// Enqueue a job, run it on a worker with a typed handler, read its result.
func Example() {
	// The deadline bounds the wait for the result below: past it, Get fails.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := memory.New(ctx, memory.Config{}) // or backend.Open(ctx, "sqlite:conveyor.db")
	if err != nil {
		panic(err)
	}
	defer b.Close()

	// The worker side: register handlers, start a worker.
	workers := conveyor.NewWorkers()
	err = conveyor.Register(workers, "email.send", func(ctx context.Context, job *conveyor.Job[SendEmail]) (string, error) {
		return "sent to " + job.Args.To, nil
	}, &conveyor.HandlerOptions{Timeout: 10 * time.Second})
	if err != nil {
		panic(err)
	}
	w, err := conveyor.NewWorker(b, workers, conveyor.WorkerConfig{
		Queues: map[string]int{"default": 5},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		panic(err)
	}
	if err := w.Start(ctx); err != nil {
		panic(err)
	}
	defer w.Stop(ctx)

	// The client side: enqueue, then look at the job.
	client, err := conveyor.NewClient(b, conveyor.ClientConfig{})
	if err != nil {
		panic(err)
	}
	res, err := client.Enqueue(ctx, "email.send", SendEmail{To: "ada@example.com"}, nil)
	if err != nil {
		panic(err)
	}
	for {
		job, err := client.Get(ctx, res.ID)
		if err != nil {
			panic(err)
		}
		if job.State.Final() {
			fmt.Println(job.State, string(job.Result))
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Output: completed "sent to ada@example.com"
}
