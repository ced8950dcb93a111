package conveyor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"conveyor/backend"
	"conveyor/internal/clock"

	"github.com/google/uuid"
)

// Defaults applied to jobs and clients when a field is left zero.
const (
	DefaultQueue        = "default"
	DefaultMaxAttempts  = 25
	DefaultTimeout      = 5 * time.Minute
	DefaultMaxArgsBytes = 1 << 20
)

// maxUniqueKey bounds a unique key (a hash of what makes jobs the same fits
// easily; a key is indexed by some backends).
const maxUniqueKey = 1024

// The range of run_at a job may have.
var (
	minRunAt = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxRunAt = backend.MaxRunAt
)

// ErrInvalidJob is wrapped by every error about a job a caller tried to
// enqueue (bad kind, bad queue, args too large or not JSON, bad options).
var ErrInvalidJob = errors.New("invalid job")

// ErrArgsTooLarge is wrapped (with ErrInvalidJob) when a job's encoded args
// exceed ClientConfig.MaxArgsBytes.
var ErrArgsTooLarge = errors.New("args too large")

// Clock tells the time; tests inject a fake one.
type Clock interface {
	Now() time.Time
}

// ClientConfig configures a Client. The zero value is valid.
type ClientConfig struct {
	// MaxArgsBytes caps the size of a job's encoded args. Default 1 MiB.
	MaxArgsBytes int
	// Clock supplies "now". Default: the wall clock.
	Clock Clock
}

// WithDefaults returns a copy of c with zero fields set to their defaults.
func (c ClientConfig) WithDefaults() ClientConfig {
	if c.MaxArgsBytes == 0 {
		c.MaxArgsBytes = DefaultMaxArgsBytes
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c ClientConfig) Validate() error {
	if c.MaxArgsBytes < 0 {
		return fmt.Errorf("client config: MaxArgsBytes must be >= 0, got %d", c.MaxArgsBytes)
	}
	return nil
}

// Client enqueues and inspects jobs. It is safe for concurrent use.
type Client struct {
	b   backend.Backend
	cfg ClientConfig
}

// NewClient returns a client over b.
func NewClient(b backend.Backend, cfg ClientConfig) (*Client, error) {
	if b == nil {
		return nil, errors.New("conveyor: NewClient needs a backend")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Client{b: b, cfg: cfg.WithDefaults()}, nil
}

// Backend returns the backend the client talks to.
func (c *Client) Backend() backend.Backend { return c.b }

// EnqueueOptions are the per-job options of an enqueue. The zero value
// means: queue "default", priority 0, run now, 25 attempts, 5 minute timeout.
type EnqueueOptions struct {
	// Queue is the queue to wait in. Default "default".
	Queue string `json:"queue,omitempty"`
	// Priority orders jobs in a queue; higher runs first. Default 0.
	Priority int `json:"priority,omitempty"`
	// RunAt schedules the job for later. Default: now. Exclusive with Delay.
	RunAt time.Time `json:"run_at,omitzero"`
	// Delay schedules the job Delay after now. Default 0.
	Delay time.Duration `json:"delay,omitempty"`
	// MaxAttempts is how many attempts before the job fails. Default 25.
	MaxAttempts int `json:"max_attempts,omitempty"`
	// Timeout bounds each attempt. Default 5 minutes.
	Timeout time.Duration `json:"timeout,omitempty"`
	// UniqueKey makes the enqueue return the existing job holding the same
	// key (Duplicate=true) instead of storing a new one. Default: none.
	UniqueKey string `json:"unique_key,omitempty"`
	// UniqueStates are the states in which a job holds its key. Default:
	// scheduled, queued, running, retrying.
	UniqueStates []JobState `json:"unique_states,omitempty"`
	// UniqueWindow, when set, limits uniqueness to a time window: the key is
	// held only by jobs enqueued in the same window (now truncated to it).
	UniqueWindow time.Duration `json:"unique_window,omitempty"`
	// Tags label the job for filtering. Default none.
	Tags []string `json:"tags,omitempty"`
	// Meta is free-form JSON metadata. Default none.
	Meta json.RawMessage `json:"meta,omitempty"`
}

// EnqueueRequest is one job of an EnqueueMany call.
type EnqueueRequest struct {
	// Kind names the handler.
	Kind string
	// Args is the handler's input: a json.RawMessage or []byte is used as is
	// (it must be valid JSON); anything else is encoded with encoding/json.
	Args any
	// Options are the job's options; nil means defaults.
	Options *EnqueueOptions
}

// EnqueueResult tells what an enqueue did with one job.
type EnqueueResult struct {
	// ID is the job's id, or the id of the job holding its unique key.
	ID string `json:"id"`
	// Duplicate is true when no job was stored because of the unique key.
	Duplicate bool `json:"duplicate"`
	// State is the state of the job named by ID.
	State JobState `json:"state"`
}

// Enqueue stores one job and returns once it is durable (DESIGN.md §3.1).
func (c *Client) Enqueue(ctx context.Context, kind string, args any, opts *EnqueueOptions) (*EnqueueResult, error) {
	res, err := c.EnqueueMany(ctx, []EnqueueRequest{{Kind: kind, Args: args, Options: opts}})
	if err != nil {
		return nil, err
	}
	return &res[0], nil
}

// EnqueueMany stores many jobs in one backend call. Every job is validated
// first; one invalid job fails the whole call and stores nothing.
func (c *Client) EnqueueMany(ctx context.Context, reqs []EnqueueRequest) ([]EnqueueResult, error) {
	p, err := c.enqueueParams(reqs)
	if err != nil {
		return nil, err
	}
	res, err := c.b.JobEnqueue(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("enqueue: %w", err)
	}
	return enqueueResults(res), nil
}

// EnqueueTx stores jobs inside the caller's transaction (a *sql.Tx for
// SQLite and PostgreSQL, a pgx.Tx for PostgreSQL): they exist only if the
// transaction commits. Backends without the capability return
// ErrUnsupportedTx.
func (c *Client) EnqueueTx(ctx context.Context, tx any, reqs []EnqueueRequest) ([]EnqueueResult, error) {
	txe, ok := c.b.(backend.TxEnqueuer)
	if !ok || !c.b.Capabilities().TxEnqueue {
		return nil, fmt.Errorf("enqueue in transaction: %s backend: %w", c.b.Capabilities().Name, ErrUnsupportedTx)
	}
	p, err := c.enqueueParams(reqs)
	if err != nil {
		return nil, err
	}
	res, err := txe.JobEnqueueTx(ctx, tx, p)
	if err != nil {
		return nil, fmt.Errorf("enqueue in transaction: %w", err)
	}
	return enqueueResults(res), nil
}

func enqueueResults(res *backend.JobEnqueueResult) []EnqueueResult {
	out := make([]EnqueueResult, len(res.Jobs))
	for i, o := range res.Jobs {
		out[i] = EnqueueResult{ID: o.ID, Duplicate: o.Duplicate, State: o.State}
	}
	return out
}

func (c *Client) enqueueParams(reqs []EnqueueRequest) (*backend.JobEnqueueParams, error) {
	if len(reqs) == 0 {
		return nil, fmt.Errorf("%w: no jobs given", ErrInvalidJob)
	}
	now := c.cfg.Clock.Now()
	p := &backend.JobEnqueueParams{Jobs: make([]*backend.JobInsert, len(reqs)), Now: now}
	for i, r := range reqs {
		ins, err := c.buildInsert(r, now)
		if err != nil {
			if len(reqs) > 1 {
				return nil, fmt.Errorf("job %d: %w", i, err)
			}
			return nil, err
		}
		p.Jobs[i] = ins
	}
	return p, nil
}

// buildInsert validates one request and fills in defaults.
func (c *Client) buildInsert(r EnqueueRequest, now time.Time) (*backend.JobInsert, error) {
	var o EnqueueOptions
	if r.Options != nil {
		o = *r.Options
	}
	if err := ValidateKind(r.Kind); err != nil {
		return nil, err
	}
	args, err := EncodeArgs(r.Args, c.cfg.MaxArgsBytes)
	if err != nil {
		return nil, fmt.Errorf("kind %q: %w", r.Kind, err)
	}
	ins := &backend.JobInsert{
		ID:           uuid.Must(uuid.NewV7()).String(),
		Kind:         r.Kind,
		Queue:        o.Queue,
		Args:         args,
		Priority:     o.Priority,
		MaxAttempts:  o.MaxAttempts,
		Timeout:      o.Timeout,
		RunAt:        now,
		UniqueKey:    o.UniqueKey,
		UniqueStates: o.UniqueStates,
		Tags:         o.Tags,
		Meta:         o.Meta,
	}
	if ins.Queue == "" {
		ins.Queue = DefaultQueue
	}
	if err := ValidateQueue(ins.Queue); err != nil {
		return nil, err
	}
	if ins.MaxAttempts == 0 {
		ins.MaxAttempts = DefaultMaxAttempts
	}
	if ins.MaxAttempts < 0 || ins.MaxAttempts > math.MaxInt32 {
		return nil, fmt.Errorf("%w: max_attempts must be 1 to %d, got %d", ErrInvalidJob, math.MaxInt32, ins.MaxAttempts)
	}
	// Every backend stores priority and max_attempts in 32 bits or more
	// (PostgreSQL: integer); wider values would wrap silently.
	if ins.Priority < math.MinInt32 || ins.Priority > math.MaxInt32 {
		return nil, fmt.Errorf("%w: priority must be %d to %d, got %d", ErrInvalidJob, math.MinInt32, math.MaxInt32, ins.Priority)
	}
	if ins.Timeout == 0 {
		ins.Timeout = DefaultTimeout
	}
	if ins.Timeout < 0 {
		return nil, fmt.Errorf("%w: timeout must be positive, got %s", ErrInvalidJob, ins.Timeout)
	}
	switch {
	case o.Delay < 0:
		return nil, fmt.Errorf("%w: delay must not be negative, got %s", ErrInvalidJob, o.Delay)
	case o.Delay > 0 && !o.RunAt.IsZero():
		return nil, fmt.Errorf("%w: give either delay or run_at, not both", ErrInvalidJob)
	case o.Delay > 0:
		ins.RunAt = now.Add(o.Delay)
	case !o.RunAt.IsZero():
		ins.RunAt = o.RunAt
	}
	// Backends store times as 64-bit nanoseconds (or microseconds); a time
	// outside this range would wrap around and run at once.
	if ins.RunAt.Before(minRunAt) || !ins.RunAt.Before(maxRunAt) {
		return nil, fmt.Errorf("%w: run_at %s is outside %d-%d", ErrInvalidJob, ins.RunAt.Format(time.RFC3339), minRunAt.Year(), maxRunAt.Year())
	}
	for _, s := range o.UniqueStates {
		if !s.Valid() {
			return nil, fmt.Errorf("%w: unique_states: unknown state %q", ErrInvalidJob, s)
		}
	}
	// Bounded and plain text: PostgreSQL indexes the key (an index row
	// stops near 2.7 kB) and refuses NUL and invalid UTF-8.
	if len(o.UniqueKey) > maxUniqueKey {
		return nil, fmt.Errorf("%w: unique_key is %d bytes, at most %d", ErrInvalidJob, len(o.UniqueKey), maxUniqueKey)
	}
	if !backend.StorableString(o.UniqueKey) {
		return nil, fmt.Errorf("%w: unique_key is not valid UTF-8 or holds a NUL byte", ErrInvalidJob)
	}
	if o.UniqueWindow < 0 {
		return nil, fmt.Errorf("%w: unique_window must not be negative", ErrInvalidJob)
	}
	if o.UniqueWindow > 0 {
		if ins.UniqueKey == "" {
			return nil, fmt.Errorf("%w: unique_window needs a unique_key", ErrInvalidJob)
		}
		ins.UniqueKey = fmt.Sprintf("%s@%d", ins.UniqueKey, now.Truncate(o.UniqueWindow).Unix())
	}
	if err := ValidateTags(o.Tags); err != nil {
		return nil, err
	}
	if len(o.Meta) > 0 && !backend.StorableJSON(o.Meta) {
		return nil, fmt.Errorf("%w: meta is not valid JSON in valid UTF-8", ErrInvalidJob)
	}
	return ins, nil
}

// ValidateTags checks job tags: each 1 to 100 bytes.
func ValidateTags(tags []string) error {
	for _, t := range tags {
		if t == "" || len(t) > 100 {
			return fmt.Errorf("%w: tags must be 1 to 100 bytes, got %q", ErrInvalidJob, t)
		}
		if !backend.StorableString(t) {
			return fmt.Errorf("%w: tag %q is not valid UTF-8 or holds a NUL byte", ErrInvalidJob, t)
		}
	}
	return nil
}

// ValidateKind checks a job kind: 1 to 200 bytes of letters, digits and
// ". _ - : /".
func ValidateKind(kind string) error {
	return validateName("kind", kind)
}

// ValidateQueue checks a queue name: 1 to 200 bytes of letters, digits and
// ". _ - : /".
func ValidateQueue(queue string) error {
	return validateName("queue", queue)
}

func validateName(what, s string) error {
	if s == "" {
		return fmt.Errorf("%w: %s is empty", ErrInvalidJob, what)
	}
	if len(s) > 200 {
		return fmt.Errorf("%w: %s is %d bytes, at most 200 allowed", ErrInvalidJob, what, len(s))
	}
	if i := strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-:/", r))
	}); i >= 0 {
		return fmt.Errorf("%w: %s %q has character %q at byte %d (allowed: letters, digits, . _ - : /)", ErrInvalidJob, what, s, s[i], i)
	}
	return nil
}

// EncodeArgs turns args into JSON and checks its size against max (0 means
// DefaultMaxArgsBytes). json.RawMessage and []byte must already be valid JSON;
// nil becomes {}.
func EncodeArgs(args any, max int) (json.RawMessage, error) {
	if max == 0 {
		max = DefaultMaxArgsBytes
	}
	var raw []byte
	switch a := args.(type) {
	case nil:
		raw = []byte("{}")
	case json.RawMessage:
		raw = a
	case []byte:
		raw = a
	default:
		b, err := json.Marshal(args)
		if err != nil {
			return nil, fmt.Errorf("%w: args do not encode as JSON: %v", ErrInvalidJob, err)
		}
		raw = b
	}
	if len(raw) > max {
		return nil, fmt.Errorf("%w: %w: %d bytes, at most %d allowed", ErrInvalidJob, ErrArgsTooLarge, len(raw), max)
	}
	if !backend.StorableJSON(raw) {
		return nil, fmt.Errorf("%w: args are not valid JSON in valid UTF-8", ErrInvalidJob)
	}
	return json.RawMessage(raw), nil
}

// Get returns one job, or an error wrapping ErrNotFound.
func (c *Client) Get(ctx context.Context, id string) (*JobRecord, error) {
	j, err := c.b.JobGet(ctx, &backend.JobGetParams{ID: id})
	if err != nil {
		return nil, fmt.Errorf("get job %s: %w", id, err)
	}
	return j, nil
}

// ListParams filter and page List; empty fields do not filter.
type ListParams = backend.JobListParams

// ListResult is one page of List.
type ListResult = backend.JobListResult

// List returns jobs newest first, filtered and paged by p (nil: first page of all).
func (c *Client) List(ctx context.Context, p *ListParams) (*ListResult, error) {
	if p == nil {
		p = &ListParams{}
	}
	for _, s := range p.States {
		if !s.Valid() {
			return nil, fmt.Errorf("list jobs: unknown state %q", s)
		}
	}
	res, err := c.b.JobList(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return res, nil
}

// Cancel cancels a job: at once when it waits, through its handler's context
// when it runs (the job then ends cancelled). Final jobs: ErrWrongState.
func (c *Client) Cancel(ctx context.Context, id string) (*JobRecord, error) {
	j, err := c.b.JobCancel(ctx, &backend.JobCancelParams{ID: id, Now: c.cfg.Clock.Now()})
	if err != nil {
		return nil, fmt.Errorf("cancel job %s: %w", id, err)
	}
	return j, nil
}

// Retry queues a failed, cancelled or completed job again, or makes a
// scheduled or retrying job due now.
func (c *Client) Retry(ctx context.Context, id string) (*JobRecord, error) {
	j, err := c.b.JobRetry(ctx, &backend.JobRetryParams{ID: id, Now: c.cfg.Clock.Now()})
	if err != nil {
		return nil, fmt.Errorf("retry job %s: %w", id, err)
	}
	return j, nil
}

// Delete removes a job that is not running.
func (c *Client) Delete(ctx context.Context, id string) error {
	if err := c.b.JobDelete(ctx, &backend.JobDeleteParams{ID: id}); err != nil {
		return fmt.Errorf("delete job %s: %w", id, err)
	}
	return nil
}

// Queues lists every queue with its job count per state.
func (c *Client) Queues(ctx context.Context) ([]QueueInfo, error) {
	res, err := c.b.QueueList(ctx, &backend.QueueListParams{Now: c.cfg.Clock.Now()})
	if err != nil {
		return nil, fmt.Errorf("list queues: %w", err)
	}
	return res.Queues, nil
}

// PauseQueue stops workers from claiming jobs of a queue.
func (c *Client) PauseQueue(ctx context.Context, queue string) error {
	if err := ValidateQueue(queue); err != nil {
		return err
	}
	if err := c.b.QueuePause(ctx, &backend.QueuePauseParams{Queue: queue}); err != nil {
		return fmt.Errorf("pause queue %s: %w", queue, err)
	}
	return nil
}

// ResumeQueue lets workers claim jobs of a paused queue again.
func (c *Client) ResumeQueue(ctx context.Context, queue string) error {
	if err := ValidateQueue(queue); err != nil {
		return err
	}
	if err := c.b.QueueResume(ctx, &backend.QueueResumeParams{Queue: queue}); err != nil {
		return fmt.Errorf("resume queue %s: %w", queue, err)
	}
	return nil
}
