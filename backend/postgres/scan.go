package postgres

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"conveyor/backend"
)

// scanJob reads one row of jobColumns.
func scanJob(row pgx.Row) (*backend.Job, error) {
	var (
		j                                   backend.Job
		state                               string
		timeoutNS                           int64
		uniqueStates                        []string
		tags, meta, result, errs, progress  []byte
		startedAt, finishedAt, leaseExpires *time.Time
		args                                []byte
	)
	err := row.Scan(&j.ID, &j.Kind, &j.Queue, &args, &j.Priority, &state, &j.Attempt, &j.MaxAttempts, &timeoutNS,
		&j.RunAt, &j.UniqueKey, &uniqueStates, &tags, &meta, &result, &errs, &progress,
		&j.EnqueuedAt, &startedAt, &finishedAt, &j.LeaseOwner, &j.LeaseToken, &leaseExpires, &j.CancelRequested)
	if err != nil {
		return nil, err
	}
	j.Args = json.RawMessage(args)
	j.State = backend.JobState(state)
	j.Timeout = time.Duration(timeoutNS)
	j.RunAt = j.RunAt.UTC()
	j.EnqueuedAt = j.EnqueuedAt.UTC()
	j.StartedAt = utc(startedAt)
	j.FinishedAt = utc(finishedAt)
	j.LeaseExpiresAt = utc(leaseExpires)
	for _, s := range uniqueStates {
		j.UniqueStates = append(j.UniqueStates, backend.JobState(s))
	}
	if len(tags) > 0 {
		if err := json.Unmarshal(tags, &j.Tags); err != nil {
			return nil, fmt.Errorf("decode tags of job %s: %w", j.ID, err)
		}
	}
	if len(errs) > 0 {
		if err := json.Unmarshal(errs, &j.Errors); err != nil {
			return nil, fmt.Errorf("decode errors of job %s: %w", j.ID, err)
		}
		for i := range j.Errors {
			j.Errors[i].At = j.Errors[i].At.UTC()
		}
	}
	if meta != nil {
		j.Meta = json.RawMessage(meta)
	}
	if result != nil {
		j.Result = json.RawMessage(result)
	}
	if progress != nil {
		j.Progress = json.RawMessage(progress)
	}
	return &j, nil
}

func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// collectJobs reads every row of jobColumns.
func collectJobs(rows pgx.Rows, err error) ([]*backend.Job, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*backend.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// mapErr maps native errors to the port's sentinels where one applies.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return backend.ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("%w: %s", backend.ErrConflict, pgErr.Message)
	}
	return err
}

// isUniqueViolation reports a unique_violation (SQLSTATE 23505).
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
