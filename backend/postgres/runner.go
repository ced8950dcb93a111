package postgres

import (
	"context"
	"database/sql"

	"github.com/jackc/pgx/v5"
)

// runner runs one statement and hands each result row to each. It lets the
// enqueue and finish code run on the pool, in a pgx.Tx or in a *sql.Tx.
type runner interface {
	query(ctx context.Context, sql string, args []any, each func(scan func(...any) error) error) error
}

// pgxQuerier is what pgxpool.Pool, pgx.Conn and pgx.Tx have in common.
type pgxQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// pgxRunner runs statements through pgx.
type pgxRunner struct{ q pgxQuerier }

func (r pgxRunner) query(ctx context.Context, sql string, args []any, each func(scan func(...any) error) error) error {
	rows, err := r.q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return eachRow(rows, each)
}

// sqlRunner runs statements through database/sql (the pgx stdlib driver
// passes the Go slices through to pgx, which encodes them as arrays).
type sqlRunner struct{ tx *sql.Tx }

func (r sqlRunner) query(ctx context.Context, query string, args []any, each func(scan func(...any) error) error) error {
	rows, err := r.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return eachRow(rows, each)
}

// rowIter is what pgx.Rows and *sql.Rows have in common; their Close
// methods differ, so callers close.
type rowIter interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// eachRow hands every row of rows to each, stopping at each's first error.
func eachRow(rows rowIter, each func(scan func(...any) error) error) error {
	for rows.Next() {
		if err := each(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}
