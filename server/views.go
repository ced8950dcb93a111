package server

import (
	"encoding/json"
	"time"

	"conveyor"
)

// JobView is a job as the API shows it: the stored record without its lease
// token (a fencing secret of the worker holding it), with durations as Go
// duration strings and the run time of the latest attempt.
type JobView struct {
	ID              string                  `json:"id"`
	Kind            string                  `json:"kind"`
	Queue           string                  `json:"queue"`
	Args            json.RawMessage         `json:"args"`
	Priority        int                     `json:"priority"`
	State           conveyor.JobState       `json:"state"`
	Attempt         int                     `json:"attempt"`
	MaxAttempts     int                     `json:"max_attempts"`
	Timeout         string                  `json:"timeout"`
	RunAt           time.Time               `json:"run_at"`
	UniqueKey       string                  `json:"unique_key,omitempty"`
	UniqueStates    []conveyor.JobState     `json:"unique_states,omitempty"`
	Tags            []string                `json:"tags"`
	Meta            json.RawMessage         `json:"meta,omitempty"`
	Result          json.RawMessage         `json:"result,omitempty"`
	Errors          []conveyor.AttemptError `json:"errors"`
	Progress        json.RawMessage         `json:"progress,omitempty"`
	EnqueuedAt      time.Time               `json:"enqueued_at"`
	StartedAt       *time.Time              `json:"started_at,omitempty"`
	FinishedAt      *time.Time              `json:"finished_at,omitempty"`
	Duration        string                  `json:"duration,omitempty"`
	DurationMS      *int64                  `json:"duration_ms,omitempty"`
	LeaseOwner      string                  `json:"lease_owner,omitempty"`
	LeaseExpiresAt  *time.Time              `json:"lease_expires_at,omitempty"`
	CancelRequested bool                    `json:"cancel_requested,omitempty"`
}

// NewJobView builds the API view of j. now is used for the running time of
// a job that has not finished.
func NewJobView(j *conveyor.JobRecord, now time.Time) *JobView {
	v := &JobView{
		ID:              j.ID,
		Kind:            j.Kind,
		Queue:           j.Queue,
		Args:            j.Args,
		Priority:        j.Priority,
		State:           j.State,
		Attempt:         j.Attempt,
		MaxAttempts:     j.MaxAttempts,
		Timeout:         formatDuration(j.Timeout),
		RunAt:           j.RunAt.UTC(),
		UniqueKey:       j.UniqueKey,
		UniqueStates:    j.UniqueStates,
		Tags:            j.Tags,
		Meta:            j.Meta,
		Result:          j.Result,
		Errors:          j.Errors,
		Progress:        j.Progress,
		EnqueuedAt:      j.EnqueuedAt.UTC(),
		StartedAt:       optTime(j.StartedAt),
		FinishedAt:      optTime(j.FinishedAt),
		LeaseOwner:      j.LeaseOwner,
		LeaseExpiresAt:  optTime(j.LeaseExpiresAt),
		CancelRequested: j.CancelRequested,
	}
	if len(v.Args) == 0 {
		v.Args = json.RawMessage("{}")
	}
	if v.Tags == nil {
		v.Tags = []string{}
	}
	if v.Errors == nil {
		v.Errors = []conveyor.AttemptError{}
	}
	// Duration of the latest attempt: until it finished, or until now while
	// it runs. A job waiting for a retry has none (its attempt is over and it
	// is not final).
	if !j.StartedAt.IsZero() {
		var end time.Time
		switch {
		case j.State.Final() && !j.FinishedAt.IsZero() && !j.FinishedAt.Before(j.StartedAt):
			end = j.FinishedAt
		case j.State == conveyor.StateRunning && !now.Before(j.StartedAt):
			end = now
		}
		if !end.IsZero() {
			d := end.Sub(j.StartedAt)
			ms := d.Milliseconds()
			// Sub-microsecond digits are noise to a person; duration_ms is there for machines.
			v.Duration = d.Round(time.Microsecond).String()
			v.DurationMS = &ms
		}
	}
	return v
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// JobListView is the answer of GET /api/v1/jobs.
type JobListView struct {
	Jobs []*JobView `json:"jobs"`
	// NextCursor fetches the next page; empty on the last one.
	NextCursor string `json:"next_cursor,omitempty"`
}

// EnqueueView is the answer for one enqueued job.
type EnqueueView struct {
	ID        string            `json:"id"`
	Duplicate bool              `json:"duplicate"`
	State     conveyor.JobState `json:"state"`
}

// EnqueueBatchView is the answer of a batch enqueue, one entry per job in
// request order.
type EnqueueBatchView struct {
	Jobs []EnqueueView `json:"jobs"`
}

// QueueView describes one queue.
type QueueView struct {
	Name   string `json:"name"`
	Paused bool   `json:"paused"`
	// Counts has every state, zero included, so clients need no defaults.
	Counts map[conveyor.JobState]int64 `json:"counts"`
	// OldestQueuedAt is the run_at of the oldest queued job, absent if none.
	OldestQueuedAt *time.Time `json:"oldest_queued_at,omitempty"`
	// OldestQueuedAgeSeconds is how long that job has been waiting.
	OldestQueuedAgeSeconds *float64 `json:"oldest_queued_age_seconds,omitempty"`
}

// NewQueueView builds the API view of q.
func NewQueueView(q *conveyor.QueueInfo, now time.Time) QueueView {
	v := QueueView{Name: q.Name, Paused: q.Paused, Counts: make(map[conveyor.JobState]int64, 7)}
	for _, st := range []conveyor.JobState{conveyor.StateScheduled, conveyor.StateQueued, conveyor.StateRunning, conveyor.StateRetrying, conveyor.StateCompleted, conveyor.StateFailed, conveyor.StateCancelled} {
		v.Counts[st] = q.Counts[st]
	}
	if !q.OldestQueuedAt.IsZero() {
		v.OldestQueuedAt = optTime(q.OldestQueuedAt)
		age := max(now.Sub(q.OldestQueuedAt).Seconds(), 0)
		v.OldestQueuedAgeSeconds = &age
	}
	return v
}

// QueueListView is the answer of GET /api/v1/queues.
type QueueListView struct {
	Queues []QueueView `json:"queues"`
}

// QueueStateView is the answer of pause and resume.
type QueueStateView struct {
	Name   string `json:"name"`
	Paused bool   `json:"paused"`
}
