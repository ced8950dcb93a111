package backend

import (
	"encoding/json"
	"slices"
	"time"
)

// JobState is where a job is in its life. See DESIGN.md §2 for the machine.
type JobState string

// The job states.
const (
	// StateScheduled: enqueued with a run_at in the future; claimable once run_at is reached.
	StateScheduled JobState = "scheduled"
	// StateQueued: ready to run.
	StateQueued JobState = "queued"
	// StateRunning: claimed by a worker that holds a lease on it.
	StateRunning JobState = "running"
	// StateRetrying: an attempt failed and another is due at run_at.
	StateRetrying JobState = "retrying"
	// StateCompleted: the handler succeeded (final).
	StateCompleted JobState = "completed"
	// StateFailed: no attempts left or a non-retryable error: the dead-letter state (final).
	StateFailed JobState = "failed"
	// StateCancelled: cancelled by a user or by the handler (final).
	StateCancelled JobState = "cancelled"
)

// AllStates lists every state in lifecycle order.
var AllStates = []JobState{StateScheduled, StateQueued, StateRunning, StateRetrying, StateCompleted, StateFailed, StateCancelled}

// DefaultUniqueStates are the states in which a job holds its unique key when
// the enqueuer names none: every non-final state.
var DefaultUniqueStates = []JobState{StateScheduled, StateQueued, StateRunning, StateRetrying}

// Final reports whether no further transition happens without a manual retry.
func (s JobState) Final() bool {
	return s == StateCompleted || s == StateFailed || s == StateCancelled
}

// Valid reports whether s is one of the defined states.
func (s JobState) Valid() bool { return slices.Contains(AllStates, s) }

// MaxRunAt bounds a job's run_at (exclusive): enqueues refuse later ones
// and the worker caps snooze and retry delays there, so every backend can
// store it (some keep times as nanoseconds since 1970, which end in 2262).
var MaxRunAt = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)

// AttemptError records one failed attempt.
type AttemptError struct {
	// Attempt is the attempt number (1-based) that failed.
	Attempt int `json:"attempt"`
	// At is when the failure was recorded.
	At time.Time `json:"at"`
	// Message is the error text.
	Message string `json:"message"`
	// Stack is a stack excerpt, set for panics.
	Stack string `json:"stack,omitempty"`
}

// Job is a job record as a backend stores it. Zero times mean "not set".
type Job struct {
	// ID is unique and sortable by enqueue time (UUIDv7), assigned by the client.
	ID string `json:"id"`
	// Kind names the handler, e.g. "email.send".
	Kind string `json:"kind"`
	// Queue is the queue the job waits in.
	Queue string `json:"queue"`
	// Args is the handler's input as JSON.
	Args json.RawMessage `json:"args"`
	// Priority orders jobs within a queue; higher runs first.
	Priority int `json:"priority"`
	// State is the current state.
	State JobState `json:"state"`
	// Attempt counts claims (including rescued ones), minus snoozes.
	Attempt int `json:"attempt"`
	// MaxAttempts is how many attempts the job gets before it fails for good.
	MaxAttempts int `json:"max_attempts"`
	// Timeout bounds one attempt.
	Timeout time.Duration `json:"timeout"`
	// RunAt is when the job is (or was) due.
	RunAt time.Time `json:"run_at"`
	// UniqueKey, when set, makes enqueue return an existing job with the same
	// key while that job is in one of UniqueStates.
	UniqueKey string `json:"unique_key,omitempty"`
	// UniqueStates are the states in which this job holds UniqueKey.
	UniqueStates []JobState `json:"unique_states,omitempty"`
	// Tags label the job for filtering.
	Tags []string `json:"tags,omitempty"`
	// Meta is free-form JSON metadata.
	Meta json.RawMessage `json:"meta,omitempty"`
	// Result is the handler's JSON result, set on completion.
	Result json.RawMessage `json:"result,omitempty"`
	// Errors has one entry per failed attempt, oldest first.
	Errors []AttemptError `json:"errors,omitempty"`
	// Progress is optional JSON the handler reports while it runs.
	Progress json.RawMessage `json:"progress,omitempty"`
	// EnqueuedAt is when the job was stored.
	EnqueuedAt time.Time `json:"enqueued_at"`
	// StartedAt is when the latest attempt was claimed.
	StartedAt time.Time `json:"started_at,omitzero"`
	// FinishedAt is when the job reached a final state.
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// LeaseOwner names the worker holding the lease, while running.
	LeaseOwner string `json:"lease_owner,omitempty"`
	// LeaseToken fences the current claim, while running.
	LeaseToken string `json:"lease_token,omitempty"`
	// LeaseExpiresAt is when the current lease lapses, while running.
	LeaseExpiresAt time.Time `json:"lease_expires_at,omitzero"`
	// CancelRequested is set when a running job was asked to cancel; the next
	// lease extension reports it to the worker.
	CancelRequested bool `json:"cancel_requested,omitempty"`
}

// HoldsUniqueKey reports whether j, in its current state, blocks another
// enqueue with the same unique key.
func (j *Job) HoldsUniqueKey() bool {
	if j.UniqueKey == "" {
		return false
	}
	states := j.UniqueStates
	if len(states) == 0 {
		states = DefaultUniqueStates
	}
	return slices.Contains(states, j.State)
}

// AppendError records a failed attempt: a copy of ae (nothing when nil),
// with Attempt and At filled in from the job and now when left zero.
func (j *Job) AppendError(ae *AttemptError, now time.Time) {
	if ae == nil {
		return
	}
	c := *ae
	if c.Attempt == 0 {
		c.Attempt = j.Attempt
	}
	if c.At.IsZero() {
		c.At = now
	}
	j.Errors = append(j.Errors, c)
}

// Clone returns a deep copy of j, for backends that hand out records they keep.
func (j *Job) Clone() *Job {
	c := *j
	c.Args = slices.Clone(j.Args)
	c.UniqueStates = slices.Clone(j.UniqueStates)
	c.Tags = slices.Clone(j.Tags)
	c.Meta = slices.Clone(j.Meta)
	c.Result = slices.Clone(j.Result)
	c.Errors = slices.Clone(j.Errors)
	c.Progress = slices.Clone(j.Progress)
	return &c
}
