package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"conveyor"
	"conveyor/backend"
	"conveyor/internal/clock"

	"github.com/robfig/cron/v3"
)

// Config configures a Scheduler. The zero value is valid.
type Config struct {
	// Schedules are declared in code: Start writes each into the store
	// (replacing a stored definition of the same name, keeping its state).
	// Schedules added through the API or CLI run beside them.
	Schedules []Schedule
	// Interval is how often the stored schedules are read again, so changes
	// made elsewhere apply without a restart. Default 1 s.
	Interval time.Duration
	// MisfireGrace is how late a fire may be handled and still run under
	// MissedSkip. Default 1 minute.
	MisfireGrace time.Duration
	// Logger receives one line per fire and per failure. Default slog.Default().
	Logger *slog.Logger
	// Clock supplies "now". Default: the wall clock.
	Clock conveyor.Clock
}

// maxSteps bounds how many fire times one pass walks for one schedule; past
// it (after a very long outage of a very frequent schedule) only the last
// hour's fire times are considered.
const maxSteps = 100_000

// Scheduler enqueues the jobs of every stored schedule at their fire times.
// Any number of replicas may run on one backend: each fire time yields
// exactly one job, because its enqueue carries the unique key
// "schedule:NAME:FIRE_TIME" held in every state, and each schedule's state
// advances by compare-and-set.
type Scheduler struct {
	client *conveyor.Client
	store  *Store
	cfg    Config

	mu      sync.Mutex
	started bool
	stop    context.CancelFunc
	done    chan struct{}
}

// New returns a scheduler that enqueues through client and keeps schedules
// in client's backend.
func New(client *conveyor.Client, cfg Config) (*Scheduler, error) {
	if client == nil {
		return nil, errors.New("schedule: New needs a client")
	}
	if cfg.Interval < 0 || cfg.MisfireGrace < 0 {
		return nil, errors.New("schedule: Interval and MisfireGrace must not be negative")
	}
	seen := map[string]bool{}
	for i := range cfg.Schedules {
		s := &cfg.Schedules[i]
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("schedule: declared schedule %d: %w", i, err)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("schedule: %q is declared twice", s.Name)
		}
		seen[s.Name] = true
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Second
	}
	if cfg.MisfireGrace == 0 {
		cfg.MisfireGrace = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	return &Scheduler{client: client, store: NewStore(client.Backend()), cfg: cfg}, nil
}

// Store returns the store the scheduler reads.
func (s *Scheduler) Store() *Store { return s.store }

// Start writes the declared schedules and starts firing in the background
// until Stop or ctx ends.
func (s *Scheduler) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("schedule: scheduler already started")
	}
	if err := s.declare(ctx); err != nil {
		return err
	}
	ctx, s.stop = context.WithCancel(ctx)
	s.done = make(chan struct{})
	s.started = true
	go func() {
		defer close(s.done)
		s.loop(ctx)
	}()
	return nil
}

// Stop stops firing and waits for a pass in progress to end.
func (s *Scheduler) Stop() {
	s.mu.Lock()
	stop, done := s.stop, s.done
	s.mu.Unlock()
	if stop == nil {
		return
	}
	stop()
	<-done
}

func (s *Scheduler) declare(ctx context.Context) error {
	now := s.cfg.Clock.Now()
	for _, def := range s.cfg.Schedules {
		if _, err := s.store.Put(ctx, def, now); err != nil {
			return fmt.Errorf("schedule: declaring %q: %w", def.Name, err)
		}
	}
	return nil
}

// FireDue fires every schedule that is due now, once, and returns how long
// until the next fire time (at most Interval). Start does this in a loop;
// FireDue serves callers that drive a scheduler themselves (from an
// external cron, a test), and any number may run at once.
func (s *Scheduler) FireDue(ctx context.Context) time.Duration { return s.pass(ctx) }

func (s *Scheduler) loop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		t.Reset(s.pass(ctx))
	}
}

// pass fires every due schedule once and returns how long to wait for the
// next pass: until the earliest next fire time, at most Interval.
func (s *Scheduler) pass(ctx context.Context) time.Duration {
	entries, err := s.store.List(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Logger.Warn("scheduler: listing schedules failed", "err", err)
		}
		return s.cfg.Interval
	}
	wait := s.cfg.Interval
	for _, e := range entries {
		next, err := s.fire(ctx, e)
		if err != nil {
			if ctx.Err() != nil {
				return wait
			}
			s.cfg.Logger.Warn("scheduler: schedule failed", "schedule", e.Name, "err", err)
			continue
		}
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(s.cfg.Clock.Now()), time.Millisecond))
		}
	}
	return wait
}

// fire handles e's due fire times under its policies. It claims them
// first, by compare-and-set on e's state (recording them as pending with the
// queue they go to), and enqueues them only if that write won: of several
// replicas seeing the same fire, one enqueues it, whatever the backend's
// unique-key scope. It returns e's next fire time.
func (s *Scheduler) fire(ctx context.Context, e *Entry) (time.Time, error) {
	if e.Disabled {
		return time.Time{}, nil
	}
	sched, err := e.spec()
	if err != nil {
		return time.Time{}, err
	}
	if len(e.State.Pending) > 0 {
		// A claim whose enqueue did not finish (its scheduler died, or the
		// backend failed): finish it.
		return s.enqueuePending(ctx, e, sched)
	}
	now := s.cfg.Clock.Now()
	due := dueTimes(sched, e.State, now)
	if len(due) == 0 {
		return nextAfter(&e.Schedule, e.State), nil
	}
	run := s.choose(e, due, now)
	if len(run) > 0 && e.overlap() == OverlapSkip {
		busy, err := s.previousUnfinished(ctx, e)
		if err != nil {
			return time.Time{}, err
		}
		if busy {
			s.cfg.Logger.Info("scheduler: previous run unfinished, fire skipped", "schedule", e.Name, "job", e.State.LastJobID)
			run = nil
		} else {
			run = run[len(run)-1:] // earlier fires would overlap the latest one
		}
	}
	if skipped := len(due) - len(run); skipped > 0 {
		s.cfg.Logger.Info("scheduler: fire times skipped", "schedule", e.Name, "count", skipped, "policy", e.missed())
	}
	st := e.State
	st.LastRun = due[len(due)-1]
	st.NextRun = sched.Next(st.LastRun).UTC()
	st.Pending, st.PendingQueue = run, e.Queue
	claimed, err := s.store.saveState(ctx, e, st, now)
	if errors.Is(err, backend.ErrConflict) || errors.Is(err, backend.ErrNotFound) {
		// Another replica claimed these fires (or the schedule was changed
		// or deleted meanwhile): the next pass reads it again.
		return st.NextRun, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return s.enqueuePending(ctx, claimed, sched)
}

// enqueuePending enqueues e's pending fires and clears them. A failure
// leaves them pending for the next pass; a repeat is absorbed by their
// unique keys, which name the schedule and the fire time in the queue the
// claim recorded.
func (s *Scheduler) enqueuePending(ctx context.Context, e *Entry, sched cron.Schedule) (time.Time, error) {
	st := e.State
	for _, at := range st.Pending {
		opts := e.jobOptions(at, fireKey(e.Name, sched, at))
		opts.Queue = st.PendingQueue
		res, err := s.client.Enqueue(ctx, e.Kind, e.args(), opts)
		if err != nil {
			return time.Time{}, fmt.Errorf("enqueue for fire time %s: %w", at.Format(time.RFC3339), err)
		}
		st.LastJobID = res.ID
		if !res.Duplicate {
			s.cfg.Logger.Info("scheduler: fired", "schedule", e.Name, "fire_time", at, "job", res.ID)
		}
	}
	st.Pending, st.PendingQueue = nil, ""
	_, err := s.store.saveState(ctx, e, st, s.cfg.Clock.Now())
	if errors.Is(err, backend.ErrConflict) || errors.Is(err, backend.ErrNotFound) {
		return st.NextRun, nil // pending again for whoever reads it next: harmless
	}
	return st.NextRun, err
}

// dueTimes lists the fire times after the state's last run (or its start)
// up to now, oldest first.
func dueTimes(sched interface{ Next(time.Time) time.Time }, st State, now time.Time) []time.Time {
	from := st.LastRun
	if from.IsZero() {
		from = st.Since
	}
	var due []time.Time
	for t, steps := sched.Next(from), 0; !t.IsZero() && !t.After(now); t, steps = sched.Next(t), steps+1 {
		if steps == maxSteps {
			return dueTimes(sched, State{Since: now.Add(-time.Hour)}, now)
		}
		due = append(due, t.UTC())
		if len(due) > 2*maxCatchUpLimit {
			due = append(due[:0], due[len(due)-maxCatchUpLimit:]...) // no policy looks further back
		}
	}
	return due
}

// choose applies the missed policy to due (non-empty, oldest first).
func (s *Scheduler) choose(e *Entry, due []time.Time, now time.Time) []time.Time {
	switch e.missed() {
	case MissedRunOnce:
		return due[len(due)-1:]
	case MissedCatchUp:
		return due[max(0, len(due)-e.catchUpLimit()):]
	default:
		for i, t := range due {
			if now.Sub(t) <= s.cfg.MisfireGrace {
				return due[i:]
			}
		}
		return nil
	}
}

// previousUnfinished tells whether the schedule's last job still waits or
// runs (a job deleted or pruned since counts as finished).
func (s *Scheduler) previousUnfinished(ctx context.Context, e *Entry) (bool, error) {
	if e.State.LastJobID == "" {
		return false, nil
	}
	job, err := s.client.Get(ctx, e.State.LastJobID)
	if errors.Is(err, backend.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !job.State.Final(), nil
}

// Trigger enqueues one job of the named schedule now, outside its fire
// times (no unique key), and records it as the schedule's latest run for the
// overlap policy.
func Trigger(ctx context.Context, client *conveyor.Client, name string) (*conveyor.EnqueueResult, error) {
	return TriggerOnce(ctx, client, name, "")
}

// MaxIdempotencyKey is the longest key TriggerOnce takes.
const MaxIdempotencyKey = 255

// TriggerOnce is Trigger that enqueues at most one job per idempotency key
// (empty: no key, as Trigger): a trigger retried with the same key, say
// after a timeout, answers the job the first one enqueued (Duplicate)
// instead of a second job, for as long as that job exists. The key is
// 1-MaxIdempotencyKey printable ASCII characters; it becomes the job's
// unique key "schedule-trigger:LEN:NAME:KEY" (LEN the name's length, so no
// name and key pair spells another's, and no fire key starts so), held in
// every state.
func TriggerOnce(ctx context.Context, client *conveyor.Client, name, key string) (*conveyor.EnqueueResult, error) {
	if err := validIdempotencyKey(key); err != nil {
		return nil, err
	}
	store := NewStore(client.Backend())
	e, err := store.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	unique := ""
	if key != "" {
		unique = "schedule-trigger:" + strconv.Itoa(len(name)) + ":" + name + ":" + key
	}
	opts := e.jobOptions(time.Time{}, unique)
	res, err := client.Enqueue(ctx, e.Kind, e.args(), opts)
	if err != nil {
		return nil, err
	}
	if res.Duplicate {
		return res, nil // recorded by the trigger that enqueued it
	}
	for range 5 {
		st := e.State
		st.LastJobID = res.ID
		_, err = store.saveState(ctx, e, st, time.Now())
		if !errors.Is(err, backend.ErrConflict) {
			break
		}
		if e, err = store.Get(ctx, name); err != nil {
			break
		}
	}
	if err != nil {
		return res, fmt.Errorf("schedule %q: job %s enqueued, but recording it failed: %w", name, res.ID, err)
	}
	return res, nil
}

// validIdempotencyKey refuses what TriggerOnce does not take, naming why.
func validIdempotencyKey(key string) error {
	if len(key) > MaxIdempotencyKey {
		return fmt.Errorf("%w: idempotency key is %d bytes, at most %d", ErrInvalid, len(key), MaxIdempotencyKey)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return fmt.Errorf("%w: idempotency key may hold only printable ASCII without spaces (byte %d is %#x)", ErrInvalid, i, key[i])
		}
	}
	return nil
}

// fireKey is the unique key of one fire of one schedule: its time in UTC,
// or, for a schedule at fixed hours in a zone with daylight saving time,
// its wall-clock time in that zone, so the hour repeated when clocks go
// back fires once (as cron does).
func fireKey(name string, sched cron.Schedule, at time.Time) string {
	const allHours = 1<<24 - 1
	if spec, ok := sched.(*cron.SpecSchedule); ok && spec.Hour&allHours != allHours && spec.Location != time.UTC {
		return "schedule:" + name + ":" + at.In(spec.Location).Format("2006-01-02T15:04:05") + "[" + spec.Location.String() + "]"
	}
	return "schedule:" + name + ":" + at.UTC().Format(time.RFC3339Nano)
}

func (s *Schedule) args() json.RawMessage {
	if len(s.Args) == 0 {
		return json.RawMessage("{}")
	}
	return s.Args
}

// jobOptions are the options of the job fired at at (zero: a manual
// trigger); the job's meta names the schedule and the fire time.
func (s *Schedule) jobOptions(at time.Time, key string) *conveyor.EnqueueOptions {
	meta := map[string]any{"schedule": s.Name}
	if at.IsZero() {
		meta["trigger"] = "manual"
	} else {
		meta["fire_time"] = at.UTC()
	}
	m, _ := json.Marshal(meta) // a map of strings and times always encodes
	opts := &conveyor.EnqueueOptions{
		// A fire claimed early (this scheduler's clock runs ahead of the
		// workers') still waits for its time.
		RunAt:       at,
		Queue:       s.Queue,
		Priority:    s.Priority,
		MaxAttempts: s.MaxAttempts,
		Timeout:     s.Timeout,
		Tags:        s.Tags,
		Meta:        m,
		UniqueKey:   key,
	}
	if key != "" {
		opts.UniqueStates = backend.AllStates
	}
	return opts
}
