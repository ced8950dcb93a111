package backend

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Backend is everything conveyor needs from a store. It is composed of small
// role interfaces so that code which needs one role asks for only that one.
// Optional capabilities (Waker, TxEnqueuer) are found by type assertion, like
// http.Flusher, and announced in Capabilities.
type Backend interface {
	Jobs
	Leases
	Queues
	Records
	Lifecycle
}

// Lifecycle covers what every backend has besides data.
type Lifecycle interface {
	// Capabilities says which optional features the backend has and which
	// maintenance services it needs.
	Capabilities() Capabilities
	// Ping checks that the store is reachable (used by /readyz).
	Ping(ctx context.Context) error
	// Migrate brings the store's schema up to date. Idempotent.
	Migrate(ctx context.Context) error
	// Close releases connections. Idempotent.
	Close() error
}

// Jobs is the job role: enqueue, claim, finish and everything users do to jobs.
type Jobs interface {
	// JobEnqueue stores jobs durably, one result per job in order. A job whose
	// unique key is held by another job (see Job.HoldsUniqueKey) is not stored;
	// its result carries the holder's ID and Duplicate=true. Jobs with RunAt
	// after Now are stored scheduled, the others queued.
	JobEnqueue(ctx context.Context, p *JobEnqueueParams) (*JobEnqueueResult, error)
	// JobClaim takes up to Limit claimable jobs of one queue, in order
	// (priority desc, run_at asc, id asc), marks them running with a fresh
	// lease token each, increments their attempt and returns them. Claimable
	// means state queued, or scheduled/retrying with run_at <= Now. A paused
	// queue yields nothing. N concurrent claimers never get the same job.
	JobClaim(ctx context.Context, p *JobClaimParams) (*JobClaimResult, error)
	// JobFinish records the outcomes of many attempts. Each outcome is fenced:
	// it applies only if the job is running under the given lease token;
	// otherwise it changes nothing and its ID is listed in LeaseLost.
	JobFinish(ctx context.Context, p *JobFinishParams) (*JobFinishResult, error)
	// JobRescue finds running jobs whose lease expired before Now and hands
	// them back: cancelled when a cancel was requested while they ran (the
	// worker that would have stopped them is gone), else queued (run_at Now)
	// when attempts are left, failed otherwise; always with an AttemptError
	// saying the lease expired. The attempt stays counted, and
	// CancelRequested is cleared.
	JobRescue(ctx context.Context, p *JobRescueParams) (*JobRescueResult, error)
	// JobPromote moves scheduled and retrying jobs whose run_at <= Now to
	// queued. Backends whose claim already takes due jobs may do less, but the
	// call must leave every due job claimable.
	JobPromote(ctx context.Context, p *JobPromoteParams) (*JobPromoteResult, error)
	// JobGet returns one job or ErrNotFound.
	JobGet(ctx context.Context, p *JobGetParams) (*Job, error)
	// JobList returns jobs newest first (ID descending) matching every filter
	// given, with a cursor for the next page that stays stable under inserts.
	JobList(ctx context.Context, p *JobListParams) (*JobListResult, error)
	// JobCancel cancels a job: scheduled, queued and retrying jobs become
	// cancelled at once; a running job gets CancelRequested, which the next
	// LeaseExtend reports to its worker. Final jobs: ErrWrongState.
	JobCancel(ctx context.Context, p *JobCancelParams) (*Job, error)
	// JobRetry makes a failed, cancelled or completed job queued again (run_at
	// Now; MaxAttempts raised to Attempt+1 when exhausted), or a scheduled or
	// retrying job due now. Queued or running jobs: ErrWrongState.
	JobRetry(ctx context.Context, p *JobRetryParams) (*Job, error)
	// JobDelete removes a job that is not running (ErrWrongState if it is).
	JobDelete(ctx context.Context, p *JobDeleteParams) error
	// JobPrune deletes up to Limit jobs in a final State that finished before
	// FinishedBefore.
	JobPrune(ctx context.Context, p *JobPruneParams) (*JobPruneResult, error)
}

// Leases is the heartbeat role.
type Leases interface {
	// LeaseExtend pushes the expiry of many leases to Now+Duration in one
	// call, storing any progress given. Leases whose token no longer matches
	// are listed in Lost; leases of jobs asked to cancel are extended and
	// listed in CancelRequested.
	LeaseExtend(ctx context.Context, p *LeaseExtendParams) (*LeaseExtendResult, error)
}

// Queues is the queue role. A queue exists once a job was enqueued to it or
// it was paused.
type Queues interface {
	// QueueList returns every queue with its job count per state.
	QueueList(ctx context.Context, p *QueueListParams) (*QueueListResult, error)
	// QueuePause stops claims from a queue (creating its record if needed).
	QueuePause(ctx context.Context, p *QueuePauseParams) error
	// QueueResume lets claims from a queue start again.
	QueueResume(ctx context.Context, p *QueueResumeParams) error
	// QueuePurge deletes every job of a queue that is not running.
	QueuePurge(ctx context.Context, p *QueuePurgeParams) (*QueuePurgeResult, error)
}

// Records is a generic versioned key-value store for small records
// (schedules, webhook subscriptions) with compare-and-set.
type Records interface {
	// RecordPut writes a record. IfVersion 0 means "must not exist";
	// AnyVersion writes unconditionally; any other value must equal the
	// stored version, else ErrConflict. The result carries the new version.
	RecordPut(ctx context.Context, p *RecordPutParams) (*Record, error)
	// RecordGet returns one record or ErrNotFound.
	RecordGet(ctx context.Context, p *RecordGetParams) (*Record, error)
	// RecordList returns every record of a namespace ordered by key.
	RecordList(ctx context.Context, p *RecordListParams) (*RecordListResult, error)
	// RecordDelete removes a record (ErrNotFound if absent; ErrConflict if
	// IfVersion is not AnyVersion and differs).
	RecordDelete(ctx context.Context, p *RecordDeleteParams) error
}

// Waker is the optional wake-up capability: idle workers block on it instead
// of polling hard, so a new job starts within milliseconds.
type Waker interface {
	// QueueWatch returns a channel that receives a queue name soon after a job
	// becomes claimable in one of Queues (best effort: spurious and coalesced
	// signals are allowed; callers still poll as a fallback). The channel is
	// closed when ctx ends.
	QueueWatch(ctx context.Context, p *QueueWatchParams) (*QueueWatchResult, error)
}

// Broadcaster is the optional capability behind the cross-process event bus
// (package events): a message broadcast reaches every process listening on
// the same store at that moment. Best effort: at most once, never stored,
// lost while a listener reconnects or falls behind.
type Broadcaster interface {
	// Broadcast sends msg to every listener of the store, in every process.
	// A message longer than MaxBroadcastBytes is refused with ErrTooLarge.
	Broadcast(ctx context.Context, msg []byte) error
	// Listen returns a channel that receives each message broadcast from now
	// on, until ctx ends (then it is closed). A listener more than
	// BroadcastBuffer messages behind loses the newest ones.
	Listen(ctx context.Context) (<-chan []byte, error)
}

// Limits of Broadcaster.
const (
	// MaxBroadcastBytes is the largest message every backend carries
	// (PostgreSQL's NOTIFY payloads stop just under 8000 bytes).
	MaxBroadcastBytes = 7900
	// BroadcastBuffer is how many messages wait for a slow listener.
	BroadcastBuffer = 1024
)

// CheckBroadcast refuses a message longer than MaxBroadcastBytes with an
// error wrapping ErrTooLarge that names the backend.
func CheckBroadcast(name string, msg []byte) error {
	if len(msg) > MaxBroadcastBytes {
		return fmt.Errorf("%s: broadcast of %d bytes: %w (at most %d)", name, len(msg), ErrTooLarge, MaxBroadcastBytes)
	}
	return nil
}

// TxEnqueuer is the optional transactional-enqueue capability: jobs stored
// inside the caller's own transaction, committed or rolled back with it.
type TxEnqueuer interface {
	// JobEnqueueTx is JobEnqueue inside tx. Each backend documents the
	// transaction types it accepts (*sql.Tx, pgx.Tx); others get ErrUnsupportedTx.
	JobEnqueueTx(ctx context.Context, tx any, p *JobEnqueueParams) (*JobEnqueueResult, error)
}

// Capabilities describes a backend. The conformance suite skips only what it
// says is absent, and the docs' feature matrix is generated from it.
type Capabilities struct {
	// Name is the backend's short name ("memory", "sqlite", "postgres", "redis", "nats").
	Name string
	// TxEnqueue: the backend implements TxEnqueuer.
	TxEnqueue bool
	// Wake: the backend implements Waker.
	Wake bool
	// Broadcast: the backend implements Broadcaster (events reach other
	// processes on the same store).
	Broadcast bool
	// NeedsPromoter: JobPromote must run periodically for due scheduled and
	// retrying jobs to become claimable.
	NeedsPromoter bool
	// NeedsPruner: finished jobs are removed only by JobPrune (no TTLs).
	NeedsPruner bool
	// Durability says in one sentence when an acknowledged enqueue survives a crash.
	Durability string
}

// JobInsert is one job to enqueue. The client fills in defaults; backends
// store what they are given.
type JobInsert struct {
	// ID is required, a UUIDv7 the client generates. IDs are never reused:
	// an ID enqueued again is a replay of the same enqueue (stored once);
	// after a delete, a backend may refuse the ID rather than store it anew.
	ID           string
	Kind         string          // required
	Queue        string          // required
	Args         json.RawMessage // required, valid JSON
	Priority     int
	MaxAttempts  int           // >= 1
	Timeout      time.Duration // > 0
	RunAt        time.Time     // required; after Now means scheduled
	UniqueKey    string
	UniqueStates []JobState // empty means DefaultUniqueStates
	Tags         []string
	Meta         json.RawMessage
}

// JobEnqueueParams are the params of JobEnqueue.
type JobEnqueueParams struct {
	Jobs []*JobInsert
	Now  time.Time
}

// EnqueueOutcome is the result for one JobInsert.
type EnqueueOutcome struct {
	// ID is the stored job's ID, or the ID of the job holding the unique key.
	ID string
	// Duplicate is true when the job was not stored because of its unique key.
	Duplicate bool
	// State is the state of the job named by ID.
	State JobState
}

// JobEnqueueResult is the result of JobEnqueue, one outcome per insert.
type JobEnqueueResult struct {
	Jobs []EnqueueOutcome
}

// JobClaimParams are the params of JobClaim.
type JobClaimParams struct {
	Queue         string
	Limit         int
	Owner         string        // worker identity, stored as LeaseOwner
	LeaseDuration time.Duration // lease expires at Now+LeaseDuration
	Now           time.Time
}

// JobClaimResult holds the claimed jobs, each with its LeaseToken set.
type JobClaimResult struct {
	Jobs []*Job
}

// Outcome says how an attempt ended.
type Outcome string

// The outcomes a worker reports.
const (
	// OutcomeCompleted: success; Result is stored.
	OutcomeCompleted Outcome = "completed"
	// OutcomeRetry: failure with attempts left; state retrying at RunAt; Error recorded.
	OutcomeRetry Outcome = "retry"
	// OutcomeFailed: final failure; Error recorded.
	OutcomeFailed Outcome = "failed"
	// OutcomeCancelled: the handler was cancelled or returned Cancel(err); Error recorded if set.
	OutcomeCancelled Outcome = "cancelled"
	// OutcomeSnoozed: not an attempt: the attempt counter goes back by one and
	// the job waits until RunAt (scheduled, or queued if RunAt <= Now). Also
	// used to hand a job back at shutdown.
	OutcomeSnoozed Outcome = "snoozed"
)

// JobOutcome is the outcome of one attempt.
type JobOutcome struct {
	ID         string
	LeaseToken string
	Outcome    Outcome
	Result     json.RawMessage // OutcomeCompleted
	Error      *AttemptError   // OutcomeRetry, OutcomeFailed, optional for OutcomeCancelled
	RunAt      time.Time       // OutcomeRetry, OutcomeSnoozed
}

// JobFinishParams are the params of JobFinish.
type JobFinishParams struct {
	Jobs []*JobOutcome
	Now  time.Time
}

// JobFinishResult lists outcomes that were rejected by the fence.
type JobFinishResult struct {
	LeaseLost []string
	// Cancelled lists the jobs whose retry or snoozed outcome ended them
	// cancelled instead, because their cancel was requested during the run
	// (DESIGN §2: never retrying), so the worker can say so.
	Cancelled []string
}

// JobRescueParams are the params of JobRescue.
type JobRescueParams struct {
	Now   time.Time
	Limit int // 0 means no limit
}

// RescuedJob names a job JobRescue handed back.
type RescuedJob struct {
	ID    string
	Kind  string
	Queue string
	State JobState // queued, failed or cancelled
}

// JobRescueResult is the result of JobRescue.
type JobRescueResult struct {
	Jobs []RescuedJob
}

// JobPromoteParams are the params of JobPromote.
type JobPromoteParams struct {
	Now   time.Time
	Limit int // 0 means no limit
}

// JobPromoteResult is the result of JobPromote.
type JobPromoteResult struct {
	Promoted int
}

// JobGetParams are the params of JobGet.
type JobGetParams struct {
	ID string
}

// JobListParams filter and page JobList. Empty fields do not filter.
type JobListParams struct {
	States         []JobState
	Queue          string
	Kind           string
	Tag            string
	EnqueuedAfter  time.Time // inclusive
	EnqueuedBefore time.Time // exclusive
	// Cursor is the NextCursor of the previous page; empty for the first page.
	Cursor string
	// Limit is the page size (default 100, at most 1000).
	Limit int
}

// Page sizes of JobList.
const (
	// DefaultListLimit is the page size when JobListParams.Limit is 0.
	DefaultListLimit = 100
	// MaxListLimit caps JobListParams.Limit.
	MaxListLimit = 1000
)

// PageSize is the page size a backend serves for p: Limit, DefaultListLimit
// when it is not positive, at most MaxListLimit.
func (p *JobListParams) PageSize() int {
	if p.Limit <= 0 {
		return DefaultListLimit
	}
	return min(p.Limit, MaxListLimit)
}

// JobListResult is one page of JobList.
type JobListResult struct {
	Jobs []*Job
	// NextCursor is empty when this was the last page.
	NextCursor string
}

// JobCancelParams are the params of JobCancel.
type JobCancelParams struct {
	ID  string
	Now time.Time
}

// JobRetryParams are the params of JobRetry.
type JobRetryParams struct {
	ID  string
	Now time.Time
}

// JobDeleteParams are the params of JobDelete.
type JobDeleteParams struct {
	ID string
}

// JobPruneParams are the params of JobPrune.
type JobPruneParams struct {
	State          JobState // completed, failed or cancelled
	FinishedBefore time.Time
	Limit          int // 0 means no limit
}

// JobPruneResult is the result of JobPrune.
type JobPruneResult struct {
	Deleted int
}

// Lease names one held lease; Progress, when set, is stored on the job.
type Lease struct {
	ID         string
	LeaseToken string
	Progress   json.RawMessage
}

// LeaseExtendParams are the params of LeaseExtend.
type LeaseExtendParams struct {
	Leases   []Lease
	Duration time.Duration
	Now      time.Time
}

// LeaseExtendResult is the result of LeaseExtend.
type LeaseExtendResult struct {
	// Lost are IDs whose lease token no longer matches: stop working on them.
	Lost []string
	// CancelRequested are IDs whose job was asked to cancel.
	CancelRequested []string
}

// QueueListParams are the params of QueueList.
type QueueListParams struct {
	Now time.Time
}

// QueueInfo describes one queue.
type QueueInfo struct {
	Name   string
	Paused bool
	// Counts holds the number of jobs per state (absent states are zero).
	Counts map[JobState]int64
	// OldestQueuedAt is the run_at of the oldest queued job (zero if none).
	OldestQueuedAt time.Time
}

// QueueListResult is the result of QueueList, ordered by name.
type QueueListResult struct {
	Queues []QueueInfo
}

// QueuePauseParams are the params of QueuePause.
type QueuePauseParams struct {
	Queue string
}

// QueueResumeParams are the params of QueueResume.
type QueueResumeParams struct {
	Queue string
}

// QueuePurgeParams are the params of QueuePurge.
type QueuePurgeParams struct {
	Queue string
}

// QueuePurgeResult is the result of QueuePurge.
type QueuePurgeResult struct {
	Deleted int
}

// QueueWatchParams are the params of QueueWatch.
type QueueWatchParams struct {
	Queues []string
}

// QueueWatchResult carries the wake-up channel.
type QueueWatchResult struct {
	// C receives queue names; it is closed when the watch's ctx ends.
	C <-chan string
}

// AnyVersion makes RecordPut and RecordDelete unconditional.
const AnyVersion int64 = -1

// Record is one versioned record.
type Record struct {
	Namespace string
	Key       string
	Value     json.RawMessage
	// Version starts at 1 and grows by one with each put.
	Version int64
	// UpdatedAt is the Now of the last put.
	UpdatedAt time.Time
}

// RecordPutParams are the params of RecordPut.
type RecordPutParams struct {
	Namespace string
	Key       string
	Value     json.RawMessage
	IfVersion int64
	Now       time.Time
}

// RecordGetParams are the params of RecordGet.
type RecordGetParams struct {
	Namespace string
	Key       string
}

// RecordListParams are the params of RecordList.
type RecordListParams struct {
	Namespace string
}

// RecordListResult is the result of RecordList.
type RecordListResult struct {
	Records []*Record
}

// RecordDeleteParams are the params of RecordDelete.
type RecordDeleteParams struct {
	Namespace string
	Key       string
	IfVersion int64
}
