// Command webapp is a small web application using conveyor as a library,
// the seed's flow in Go:
//
//	POST /create-jobs/   enqueue a TruncateTable job -> {"job_id":…, "status":"enqueued"}
//	GET  /job-status/ID  -> {"job_id","status","result","created_at","updated_at",…}
//	POST /events         add a row to the table the job empties
//	GET  /events         count its rows
//
// The app keeps its own tables in the same SQLite file as its jobs, so the
// enqueue happens inside the app's transaction (Client.EnqueueTx): the job
// exists if and only if the transaction commits. A conveyor.Worker in the
// same process runs the jobs.
//
//	go run ./examples/webapp --addr 127.0.0.1:8090 --db webapp.db
//	curl -X POST localhost:8090/events -d '{"name":"signup"}'
//	curl -X POST localhost:8090/create-jobs/
//	curl localhost:8090/job-status/<job_id>
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"conveyor"
	"conveyor/backend/sqlite"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	dbPath := flag.String("db", "webapp.db", "SQLite file for the app's tables and its jobs")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*addr, *dbPath, log); err != nil {
		fmt.Fprintln(os.Stderr, "webapp:", err)
		os.Exit(1)
	}
}

func run(addr, dbPath string, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	b, err := sqlite.New(ctx, sqlite.Config{Path: dbPath})
	if err != nil {
		return err
	}
	defer b.Close()
	app, err := NewApp(ctx, b, log)
	if err != nil {
		return err
	}
	w, err := conveyor.NewWorker(b, app.Workers(), conveyor.WorkerConfig{Logger: log})
	if err != nil {
		return err
	}
	if err := w.Start(ctx); err != nil {
		return err
	}
	srv := &http.Server{Addr: addr, Handler: app.Routes(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("webapp listening", "addr", addr, "db", dbPath)

	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	if stopErr := w.Stop(shutdown); stopErr != nil {
		err = errors.Join(err, stopErr)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
