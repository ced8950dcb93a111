// Command cron runs a job on a schedule and announces each run to a webhook:
// the scheduler enqueues report.build every second, a worker runs it, the
// worker's job events go on an in-process bus, and a webhook subscription to
// conveyor.job.completed delivers each completion, signed, to a receiver
// that verifies the signature (here an HTTP server in the same program).
//
//	go run ./examples/cron --backend memory: --runs 3
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"time"

	"conveyor"
	"conveyor/backend"
	_ "conveyor/backend/all"
	"conveyor/events"
	"conveyor/schedule"
	"conveyor/webhook"
)

func main() {
	url := flag.String("backend", "memory:", "backend URL")
	runs := flag.Int("runs", 3, "stop after this many verified deliveries")
	flag.Parse()
	if err := run(*url, *runs, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "cron:", err)
		os.Exit(1)
	}
}

// ReportArgs are the args of report.build.
type ReportArgs struct {
	Name string `json:"name"`
}

func run(url string, runs int, out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := backend.Open(ctx, url)
	if err != nil {
		return err
	}
	defer b.Close()
	client, err := conveyor.NewClient(b, conveyor.ClientConfig{})
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	// The receiver: verifies each delivery and reports the job it names.
	verified := make(chan string, runs)
	var secret string
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(secret, r.Header, body, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var ev events.Event
		if json.Unmarshal(body, &ev) == nil {
			select {
			case verified <- ev.Subject:
			default:
			}
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	sub, err := webhook.NewStore(b).Create(ctx, webhook.Subscription{
		Events: []string{conveyor.EventJobCompleted}, Kind: "report.build", URL: "http://" + ln.Addr().String() + "/hook",
	}, time.Now())
	if err != nil {
		return err
	}
	secret = sub.Secret

	// The worker: runs report.build and delivers webhooks; its job events
	// go on the bus, where the dispatcher turns completions into deliveries.
	bus := events.NewMemory()
	if _, err := webhook.NewDispatcher(client, webhook.DispatcherConfig{Logger: log}).Attach(bus); err != nil {
		return err
	}
	ws := conveyor.NewWorkers()
	if err := conveyor.Register(ws, "report.build", func(ctx context.Context, job *conveyor.Job[ReportArgs]) (string, error) {
		return "built " + job.Args.Name, nil
	}, nil); err != nil {
		return err
	}
	// This receiver is on loopback: allow it (webhooks refuse non-public
	// addresses by default).
	if err := webhook.Register(ws, b, webhook.Config{AllowNets: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Logger: log}); err != nil {
		return err
	}
	hook, stopHook := events.WorkerHook(bus, nil)
	defer stopHook()
	w, err := conveyor.NewWorker(b, ws, conveyor.WorkerConfig{Logger: log, PollInterval: 50 * time.Millisecond, OnJobEvent: hook})
	if err != nil {
		return err
	}
	if err := w.Start(ctx); err != nil {
		return err
	}
	defer w.Stop(context.Background())

	// The scheduler: report.build every second.
	sched, err := schedule.New(client, schedule.Config{Logger: log, Schedules: []schedule.Schedule{{
		Name: "nightly-report", Cron: "* * * * * *", Kind: "report.build", Args: json.RawMessage(`{"name":"sales"}`),
		Overlap: schedule.OverlapSkip,
	}}})
	if err != nil {
		return err
	}
	if err := sched.Start(ctx); err != nil {
		return err
	}
	defer sched.Stop()

	for i := range runs {
		select {
		case id := <-verified:
			fmt.Fprintf(out, "delivery %d verified: job %s completed\n", i+1, id)
		case <-ctx.Done():
			return errors.New("no verified delivery within a minute")
		}
	}
	return nil
}
