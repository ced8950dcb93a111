package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"conveyor/backend"
)

// Times are stored as INTEGER unix nanoseconds, NULL when zero.

func ns(t time.Time) int64 { return t.UnixNano() }

func fromNS(n int64) time.Time { return time.Unix(0, n).UTC() }

func fromNullNS(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromNS(n.Int64)
}

// jsonText binds JSON as TEXT (a []byte would bind as a BLOB, which SQLite's
// JSON functions read as JSONB), or NULL when empty.
func jsonText(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// jsonList encodes a string-ish slice as a JSON array, or NULL when empty.
func jsonList[T ~string](xs []T) (any, error) {
	if len(xs) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(xs)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// errorJSON encodes one AttemptError (time in UTC) for json_insert, or NULL.
func errorJSON(e *backend.AttemptError) (any, error) {
	if e == nil {
		return nil, nil
	}
	c := *e
	c.At = c.At.UTC()
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// scanJob reads the columns of jobColumns, in that order.
func scanJob(s scanner) (*backend.Job, error) {
	var (
		j                                            backend.Job
		state                                        string
		timeout, runAt, enqueuedAt, cancelRequested  int64
		args, uniqueStates, tags, meta, result, errs []byte
		progress                                     []byte
		uniqueKey, leaseOwner, leaseToken            sql.NullString
		startedAt, finishedAt, leaseExpiresAt        sql.NullInt64
	)
	err := s.Scan(&j.ID, &j.Kind, &j.Queue, &args, &j.Priority, &state, &j.Attempt, &j.MaxAttempts, &timeout, &runAt,
		&uniqueKey, &uniqueStates, &tags, &meta, &result, &errs, &progress, &enqueuedAt, &startedAt, &finishedAt,
		&leaseOwner, &leaseToken, &leaseExpiresAt, &cancelRequested)
	if err != nil {
		return nil, err
	}
	j.State = backend.JobState(state)
	j.Timeout = time.Duration(timeout)
	j.RunAt = fromNS(runAt)
	j.EnqueuedAt = fromNS(enqueuedAt)
	j.StartedAt = fromNullNS(startedAt)
	j.FinishedAt = fromNullNS(finishedAt)
	j.LeaseExpiresAt = fromNullNS(leaseExpiresAt)
	j.UniqueKey = uniqueKey.String
	j.LeaseOwner = leaseOwner.String
	j.LeaseToken = leaseToken.String
	j.CancelRequested = cancelRequested != 0
	j.Args = rawJSON(args)
	j.Meta = rawJSON(meta)
	j.Result = rawJSON(result)
	j.Progress = rawJSON(progress)
	if err := decodeLists(&j, uniqueStates, tags, errs); err != nil {
		return nil, err
	}
	return &j, nil
}

// scanClaimed reads one row of claim.sql's RETURNING list and completes the
// job with the values the claim set (see claim.sql). Integers are scanned
// into int64: database/sql converts an int64 to an int by formatting and
// parsing it.
func scanClaimed(s scanner, p *backend.JobClaimParams) (*backend.Job, error) {
	var (
		j                                                   = backend.Job{Queue: p.Queue, State: backend.StateRunning, LeaseOwner: p.Owner}
		priority, attempt, maxAttempts                      int64
		timeout, runAt, enqueuedAt                          int64
		args                                                []byte
		extra                                               sql.NullString
		uniqueKey, uniqueStates, tags, meta, errs, progress string
	)
	err := s.Scan(&j.ID, &j.Kind, &args, &priority, &attempt, &maxAttempts, &timeout, &runAt,
		&enqueuedAt, &j.LeaseToken, &j.CancelRequested, &extra)
	if err != nil {
		return nil, err
	}
	if extra.Valid {
		var parts [6]string
		if err := unpackExtra(extra.String, parts[:]); err != nil {
			return nil, fmt.Errorf("job %s: %w", j.ID, err)
		}
		uniqueKey, uniqueStates, tags, meta, errs, progress = parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]
	}
	j.Priority = int(priority)
	j.Attempt = int(attempt)
	j.MaxAttempts = int(maxAttempts)
	j.Timeout = time.Duration(timeout)
	j.RunAt = fromNS(runAt)
	j.EnqueuedAt = fromNS(enqueuedAt)
	j.StartedAt = fromNS(ns(p.Now))
	j.LeaseExpiresAt = fromNS(ns(p.Now.Add(p.LeaseDuration)))
	j.UniqueKey = uniqueKey
	j.Args = rawJSON(args)
	j.Meta = rawJSON([]byte(meta))
	j.Progress = rawJSON([]byte(progress))
	if err := decodeLists(&j, []byte(uniqueStates), []byte(tags), []byte(errs)); err != nil {
		return nil, err
	}
	return &j, nil
}

// unpackExtra splits claim.sql's extra column, "L1,…,Ln;" followed by n
// values of those byte lengths, into parts (len(parts) = n).
func unpackExtra(extra string, parts []string) error {
	head, body, ok := strings.Cut(extra, ";")
	if !ok {
		return fmt.Errorf("malformed packed columns %q", extra)
	}
	for i := range parts {
		var l string
		if i < len(parts)-1 {
			if l, head, ok = strings.Cut(head, ","); !ok {
				return fmt.Errorf("malformed packed columns %q", extra)
			}
		} else {
			l = head
		}
		if l == "" {
			continue
		}
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 || n > len(body) {
			return fmt.Errorf("malformed packed columns %q", extra)
		}
		parts[i], body = body[:n], body[n:]
	}
	if body != "" {
		return fmt.Errorf("malformed packed columns %q", extra)
	}
	return nil
}

// decodeLists decodes the JSON array columns into j.
func decodeLists(j *backend.Job, uniqueStates, tags, errs []byte) error {
	if len(uniqueStates) > 0 {
		if err := json.Unmarshal(uniqueStates, &j.UniqueStates); err != nil {
			return fmt.Errorf("job %s: unique_states: %w", j.ID, err)
		}
	}
	if len(tags) > 0 {
		if err := json.Unmarshal(tags, &j.Tags); err != nil {
			return fmt.Errorf("job %s: tags: %w", j.ID, err)
		}
	}
	if len(errs) > 0 {
		if err := json.Unmarshal(errs, &j.Errors); err != nil {
			return fmt.Errorf("job %s: errors: %w", j.ID, err)
		}
	}
	return nil
}

func rawJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

// scanJobs reads every row and closes rows.
func scanJobs(rows *sql.Rows, capHint int) ([]*backend.Job, error) {
	defer rows.Close()
	out := make([]*backend.Job, 0, capHint)
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}
