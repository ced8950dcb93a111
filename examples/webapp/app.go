package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"conveyor"
	"conveyor/backend/sqlite"
)

// KindTruncateTable is the example job: the seed's TruncateTable, emptying
// one of the app's own tables.
const KindTruncateTable = "webapp.truncate_table"

// truncatable lists the tables the job may empty. Table names cannot be SQL
// parameters, so the job only ever uses names from this list.
var truncatable = map[string]bool{"events": true}

// appSchema is the app's own tables, in the same SQLite file as the jobs so
// that a row and a job can commit in one transaction.
const appSchema = `
CREATE TABLE IF NOT EXISTS events (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS truncations (
	id           INTEGER PRIMARY KEY,
	table_name   TEXT NOT NULL,
	job_id       TEXT NOT NULL,
	requested_at TEXT NOT NULL
);`

// TruncateArgs are the job's args.
type TruncateArgs struct {
	Table string `json:"table"`
}

// TruncateResult is the job's result.
type TruncateResult struct {
	Table   string `json:"table"`
	Deleted int64  `json:"deleted"`
}

// App is the example web application: its HTTP handlers enqueue jobs and
// report their status, and its Workers run them.
type App struct {
	db      *sql.DB
	client  *conveyor.Client
	workers *conveyor.Workers
	log     *slog.Logger
}

// NewApp creates the app's tables in b's file and registers its job.
func NewApp(ctx context.Context, b *sqlite.Backend, log *slog.Logger) (*App, error) {
	client, err := conveyor.NewClient(b, conveyor.ClientConfig{})
	if err != nil {
		return nil, err
	}
	a := &App{db: b.DB(), client: client, workers: conveyor.NewWorkers(), log: log}
	if _, err := a.db.ExecContext(ctx, appSchema); err != nil {
		return nil, fmt.Errorf("create app tables: %w", err)
	}
	if err := conveyor.Register(a.workers, KindTruncateTable, a.truncateTable, &conveyor.HandlerOptions{MaxAttempts: 5, Timeout: time.Minute}); err != nil {
		return nil, err
	}
	return a, nil
}

// Workers is the registry a conveyor.Worker runs for this app.
func (a *App) Workers() *conveyor.Workers { return a.workers }

// truncateTable is the job handler. It is idempotent, as at-least-once
// execution requires: emptying an empty table again changes nothing.
func (a *App) truncateTable(ctx context.Context, job *conveyor.Job[TruncateArgs]) (TruncateResult, error) {
	if !truncatable[job.Args.Table] {
		// Retrying cannot make an unknown table known.
		return TruncateResult{}, conveyor.NoRetry(fmt.Errorf("table %q may not be truncated", job.Args.Table))
	}
	res, err := a.db.ExecContext(ctx, "DELETE FROM "+job.Args.Table) // name from the allow-list above
	if err != nil {
		return TruncateResult{}, fmt.Errorf("truncate %s: %w", job.Args.Table, err)
	}
	n, _ := res.RowsAffected()
	conveyor.LoggerFromContext(ctx).Info("table truncated", "table", job.Args.Table, "rows", n)
	return TruncateResult{Table: job.Args.Table, Deleted: n}, nil
}

// Routes returns the app's HTTP handler.
func (a *App) Routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /create-jobs/", a.createJob)
	mux.HandleFunc("GET /job-status/{id}", a.jobStatus)
	mux.HandleFunc("POST /events", a.addEvent)
	mux.HandleFunc("GET /events", a.countEvents)
	return mux
}

// createJob enqueues a TruncateTable job. The enqueue and the audit row
// are one transaction: either both exist or neither does, so the app never
// records a request whose job was lost, nor runs a job it has no record of.
func (a *App) createJob(w http.ResponseWriter, r *http.Request) {
	req := TruncateArgs{Table: "events"}
	if r.ContentLength != 0 {
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body: " + err.Error()})
			return
		}
	}
	if !truncatable[req.Table] {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("table %q may not be truncated", req.Table)})
		return
	}
	id, err := a.enqueueTruncate(r.Context(), req)
	if err != nil {
		a.log.Error("create job", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not enqueue the job"})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"job_id": id, "status": "enqueued"})
}

func (a *App) enqueueTruncate(ctx context.Context, req TruncateArgs) (string, error) {
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback() // no-op after Commit
	res, err := a.client.EnqueueTx(ctx, tx, []conveyor.EnqueueRequest{{Kind: KindTruncateTable, Args: req}})
	if err != nil {
		return "", err
	}
	id := res[0].ID
	if _, err := tx.ExecContext(ctx, `INSERT INTO truncations (table_name, job_id, requested_at) VALUES (?, ?, ?)`,
		req.Table, id, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return "", fmt.Errorf("record the request: %w", err)
	}
	return id, tx.Commit()
}

// jobStatus reports a job as the seed's /job-status did.
func (a *App) jobStatus(w http.ResponseWriter, r *http.Request) {
	job, err := a.client.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, conveyor.ErrNotFound) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such job"})
		return
	}
	if err != nil {
		a.log.Error("job status", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not read the job"})
		return
	}
	updated := job.EnqueuedAt
	for _, t := range []time.Time{job.StartedAt, job.FinishedAt} {
		if t.After(updated) {
			updated = t
		}
	}
	out := map[string]any{
		"job_id":     job.ID,
		"status":     job.State,
		"attempt":    job.Attempt,
		"result":     job.Result,
		"created_at": job.EnqueuedAt.UTC(),
		"updated_at": updated.UTC(),
	}
	if n := len(job.Errors); n > 0 {
		out["error"] = job.Errors[n-1].Message
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *App) addEvent(w http.ResponseWriter, r *http.Request) {
	var ev struct {
		Name string `json:"name"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil || ev.Name == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `want {"name":"…"}`})
		return
	}
	if _, err := a.db.ExecContext(r.Context(), `INSERT INTO events (name, created_at) VALUES (?, ?)`, ev.Name, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		a.log.Error("add event", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not store the event"})
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"status": "stored"})
}

func (a *App) countEvents(w http.ResponseWriter, r *http.Request) {
	var n int64
	if err := a.db.QueryRowContext(r.Context(), `SELECT count(*) FROM events`).Scan(&n); err != nil {
		a.log.Error("count events", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not count events"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]int64{"events": n})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
