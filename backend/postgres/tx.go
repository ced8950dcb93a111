package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"conveyor/backend"
)

// runnerFor returns the runner for a caller's transaction: a pgx.Tx, or a
// *sql.Tx opened through github.com/jackc/pgx/v5/stdlib.
func runnerFor(tx any) (runner, error) {
	switch t := tx.(type) {
	case pgx.Tx:
		return pgxRunner{t}, nil
	case *sql.Tx:
		return sqlRunner{t}, nil
	default:
		return nil, fmt.Errorf("postgres: transaction of type %T (want pgx.Tx or *sql.Tx): %w", tx, backend.ErrUnsupportedTx)
	}
}

// JobEnqueueTx implements backend.TxEnqueuer: the jobs are stored by the
// caller's transaction (a pgx.Tx, or a *sql.Tx of the pgx stdlib driver) and
// appear only if it commits. The wake-up NOTIFY is part of the same
// transaction, so PostgreSQL delivers it only on commit.
func (b *Backend) JobEnqueueTx(ctx context.Context, tx any, p *backend.JobEnqueueParams) (*backend.JobEnqueueResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	r, err := runnerFor(tx)
	if err != nil {
		return nil, err
	}
	return b.enqueue(ctx, r, p, true)
}

// JobFinishTx is JobFinish inside the caller's transaction (a pgx.Tx, or a
// *sql.Tx of the pgx stdlib driver): the outcomes apply only if it commits,
// so a handler can make its side effects and its completion one atomic unit
// (effectively-once side effects in the same database). Fencing is the same:
// outcomes whose lease token no longer matches are listed in LeaseLost and
// change nothing.
func (b *Backend) JobFinishTx(ctx context.Context, tx any, p *backend.JobFinishParams) (*backend.JobFinishResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	r, err := runnerFor(tx)
	if err != nil {
		return nil, err
	}
	if len(p.Jobs) == 0 {
		return &backend.JobFinishResult{}, nil
	}
	return b.finish(ctx, r, p)
}

// JobCompleteTxParams are the params of JobCompleteTx.
type JobCompleteTxParams struct {
	// ID and LeaseToken name the attempt, as the handler received them.
	ID         string
	LeaseToken string
	// Result is stored as the job's result (optional JSON).
	Result json.RawMessage
	// Now is the completion time (finished_at).
	Now time.Time
}

// JobCompleteTx completes one job inside the caller's transaction, like
// River's JobCompleteTx: the handler writes its side effects and marks the
// job completed in one commit. It returns backend.ErrLeaseLost when the lease
// token no longer matches (the job was rescued or finished already). Once the
// transaction commits, the worker's own later outcome for that attempt is
// fenced off (reported as lease lost, changing nothing).
func JobCompleteTx(ctx context.Context, b *Backend, tx any, p *JobCompleteTxParams) error {
	res, err := b.JobFinishTx(ctx, tx, &backend.JobFinishParams{
		Jobs: []*backend.JobOutcome{{ID: p.ID, LeaseToken: p.LeaseToken, Outcome: backend.OutcomeCompleted, Result: p.Result}},
		Now:  p.Now,
	})
	if err != nil {
		return err
	}
	if len(res.LeaseLost) > 0 {
		return fmt.Errorf("postgres: complete job %s in tx: %w", p.ID, backend.ErrLeaseLost)
	}
	return nil
}

// BeginTx is the conformance suite's transaction hook (backendtest.TxBeginner):
// it opens a pgx.Tx on the backend's pool.
func (b *Backend) BeginTx(ctx context.Context) (tx any, commit func() error, rollback func() error, err error) {
	t, err := b.pool.Begin(ctx)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("postgres: begin: %w", err)
	}
	// Commit and rollback outlive a cancelled ctx, so a test can always end the tx.
	bg := context.WithoutCancel(ctx)
	return t, func() error { return t.Commit(bg) }, func() error { return t.Rollback(bg) }, nil
}
