package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"conveyor/backend"
)

// JobEnqueueTx is JobEnqueue inside the caller's transaction. tx must be a
// *sql.Tx begun on DB() (this backend's writer, so it holds SQLite's write
// lock from BEGIN IMMEDIATE); the jobs are stored, and unique keys checked,
// in that transaction, and exist only if the caller commits it. Any other
// type, or a *sql.Tx from another *sql.DB, gets ErrUnsupportedTx.
//
// Watchers of the queues are signalled at once, before the caller commits:
// a worker woken early claims through the same single writer connection (or
// waits for the file's write lock, in another Backend), so its claim runs
// after the caller's transaction ends and sees the committed jobs; after a
// rollback the signal was merely spurious, which watchers tolerate.
func (b *Backend) JobEnqueueTx(ctx context.Context, tx any, p *backend.JobEnqueueParams) (*backend.JobEnqueueResult, error) {
	s, err := b.ready()
	if err != nil {
		return nil, err
	}
	sqlTx, ok := tx.(*sql.Tx)
	if !ok || sqlTx == nil {
		return nil, fmt.Errorf("sqlite: job enqueue in transaction: got %T, want *sql.Tx from (*sqlite.Backend).DB(): %w", tx, backend.ErrUnsupportedTx)
	}
	res, wake, err := b.enqueueTx(ctx, s, sqlTx, p)
	if err != nil {
		// database/sql refuses a statement prepared on another *sql.DB.
		if strings.Contains(err.Error(), "statement from different database") {
			return nil, fmt.Errorf("sqlite: job enqueue in transaction: the *sql.Tx was not begun on (*sqlite.Backend).DB(): %w", backend.ErrUnsupportedTx)
		}
		return nil, err
	}
	b.wake(wake...)
	return res, nil
}

// BeginTx begins a transaction on DB() for the conformance suite's
// transactional-enqueue tests (backendtest.TxBeginner).
func (b *Backend) BeginTx(ctx context.Context) (tx any, commit func() error, rollback func() error, err error) {
	if b.closed.Load() {
		return nil, nil, nil, backend.ErrClosed
	}
	t, err := b.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, nil, b.fail("begin transaction", err)
	}
	return t, t.Commit, t.Rollback, nil
}
