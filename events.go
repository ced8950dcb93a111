package conveyor

import (
	"time"

	"conveyor/backend"
	"conveyor/internal/worker"
)

// Job lifecycle event types (DESIGN.md §7) a Worker reports through
// WorkerConfig.OnJobEvent, named as their CloudEvents types.
const (
	EventJobStarted   = "conveyor.job.started"
	EventJobCompleted = "conveyor.job.completed"
	EventJobRetrying  = "conveyor.job.retrying"
	EventJobFailed    = "conveyor.job.failed"
	EventJobCancelled = "conveyor.job.cancelled"
	// EventJobSnoozed: the job waits again without using an attempt
	// (the handler returned Snooze, or its job was handed back at shutdown).
	EventJobSnoozed = "conveyor.job.snoozed"
)

// JobEvent is one step of a job's life in a worker.
type JobEvent struct {
	// Type is one of the EventJob* constants.
	Type string
	// Job is the record as claimed (state running). Do not modify it.
	Job *JobRecord
	// Result is the handler's result (completed).
	Result []byte
	// Error is the attempt's error (retrying, failed, sometimes cancelled).
	Error *AttemptError
	// RunAt is when the job runs next (retrying, snoozed).
	RunAt time.Time
	// Duration is how long the handler ran (all but started).
	Duration time.Duration
}

var outcomeEvents = map[backend.Outcome]string{
	backend.OutcomeCompleted: EventJobCompleted,
	backend.OutcomeRetry:     EventJobRetrying,
	backend.OutcomeFailed:    EventJobFailed,
	backend.OutcomeCancelled: EventJobCancelled,
	backend.OutcomeSnoozed:   EventJobSnoozed,
}

// eventObserver turns the runtime's observations into JobEvents.
type eventObserver struct {
	fn func(JobEvent)
}

// JobStarted implements worker.Observer.
func (o eventObserver) JobStarted(job *backend.Job) {
	o.fn(JobEvent{Type: EventJobStarted, Job: job})
}

// JobFinished implements worker.Observer.
func (o eventObserver) JobFinished(job *backend.Job, out *backend.JobOutcome, elapsed time.Duration) {
	o.fn(JobEvent{Type: outcomeEvents[out.Outcome], Job: job, Result: out.Result, Error: out.Error, RunAt: out.RunAt, Duration: elapsed})
}

// observers fans observations out to several observers.
type observers []worker.Observer

// JobStarted implements worker.Observer.
func (os observers) JobStarted(job *backend.Job) {
	for _, o := range os {
		o.JobStarted(job)
	}
}

// JobFinished implements worker.Observer.
func (os observers) JobFinished(job *backend.Job, out *backend.JobOutcome, elapsed time.Duration) {
	for _, o := range os {
		o.JobFinished(job, out, elapsed)
	}
}
