package postgres_test

import (
	"context"
	"encoding/json"
	"log"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"conveyor/backend"
	"conveyor/backend/postgres"
)

// Open a backend in its own schema, then enqueue a job in the same
// transaction as the application's own write: the job exists only if the
// transaction commits.
func Example_transactionalEnqueue() {
	ctx := context.Background()
	b, err := postgres.New(ctx, postgres.Config{
		URL:    "postgres://app@127.0.0.1:5432/app?sslmode=disable",
		Schema: "jobs", // several applications can share one database
	})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	err = pgx.BeginFunc(ctx, b.Pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO users (email) VALUES ($1)`, "a@example.com"); err != nil {
			return err
		}
		now := time.Now()
		_, err := b.JobEnqueueTx(ctx, tx, &backend.JobEnqueueParams{Now: now, Jobs: []*backend.JobInsert{{
			ID: uuid.Must(uuid.NewV7()).String(), Kind: "email.welcome", Queue: "default",
			Args: json.RawMessage(`{"email":"a@example.com"}`), MaxAttempts: 25, Timeout: time.Minute, RunAt: now,
		}}})
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
}

// A handler that writes its side effect and completes its job in one
// transaction: if the commit happens, the job is completed; if not, nothing
// happened and the job will be retried.
func ExampleJobCompleteTx() {
	ctx := context.Background()
	b, err := postgres.New(ctx, postgres.Config{URL: "postgres://app@127.0.0.1:5432/app?sslmode=disable"})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	var job *backend.Job // the job the handler is running (ID and LeaseToken)
	err = pgx.BeginFunc(ctx, b.Pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE accounts SET balance = balance - 10 WHERE id = 1`); err != nil {
			return err
		}
		return postgres.JobCompleteTx(ctx, b, tx, &postgres.JobCompleteTxParams{
			ID: job.ID, LeaseToken: job.LeaseToken, Result: json.RawMessage(`{"charged":10}`), Now: time.Now(),
		})
	})
	if err != nil {
		log.Fatal(err)
	}
}
