package schedule

import (
	"bytes"
	"conveyor/backend"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"conveyor"

	"github.com/robfig/cron/v3"
)

// Missed says what happens to fire times that passed while no scheduler
// ran (or while the schedule was disabled).
type Missed string

const (
	// MissedSkip drops fire times older than the scheduler's MisfireGrace
	// (the default policy).
	MissedSkip Missed = "skip"
	// MissedRunOnce runs one job for all the missed fire times together
	// (dated the latest of them).
	MissedRunOnce Missed = "run_once"
	// MissedCatchUp runs one job per missed fire time, oldest first, at most
	// CatchUpLimit of them (the latest ones).
	MissedCatchUp Missed = "catch_up"
)

// Overlap says whether a fire may start while the previous run of the same
// schedule is unfinished.
type Overlap string

const (
	// OverlapAllow fires regardless of the previous run (the default).
	OverlapAllow Overlap = "allow"
	// OverlapSkip drops a fire while the schedule's previous job is still
	// scheduled, queued, running or retrying.
	OverlapSkip Overlap = "skip"
)

// DefaultCatchUpLimit bounds MissedCatchUp when CatchUpLimit is 0.
const DefaultCatchUpLimit = 10

// maxCatchUpLimit keeps a catch-up from flooding a queue after a long outage.
const maxCatchUpLimit = 1000

// Schedule is what runs when: a cron expression and the job to enqueue at
// each of its fire times. It is the JSON body of the schedules API.
type Schedule struct {
	// Name identifies the schedule: 1-128 characters of letters, digits and
	// . _ : -
	Name string `json:"name"`
	// Cron is a 5-field (minute hour day month weekday) or 6-field (seconds
	// first) expression, or a descriptor: @every 5m, @hourly, @daily,
	// @weekly, @monthly, @yearly.
	Cron string `json:"cron"`
	// Timezone is an IANA zone name the expression is read in. Default UTC.
	Timezone string `json:"timezone,omitempty"`
	// Kind, Args, Queue, Priority, MaxAttempts, Timeout and Tags describe the
	// job each fire enqueues, as in conveyor.EnqueueOptions.
	Kind        string          `json:"kind"`
	Args        json.RawMessage `json:"args,omitempty"`
	Queue       string          `json:"queue,omitempty"`
	Priority    int             `json:"priority,omitempty"`
	MaxAttempts int             `json:"max_attempts,omitempty"`
	Timeout     time.Duration   `json:"-"`
	Tags        []string        `json:"tags,omitempty"`
	// Disabled stops the schedule from firing; the fire times that pass
	// meanwhile count as missed. (JSON: "enabled", true by default.)
	Disabled bool `json:"-"`
	// Missed is the policy for missed fire times. Default MissedSkip.
	Missed Missed `json:"missed,omitempty"`
	// CatchUpLimit bounds MissedCatchUp. Default 10, at most 1000.
	CatchUpLimit int `json:"catch_up_limit,omitempty"`
	// Overlap is the policy for a fire while the previous run is
	// unfinished. Default OverlapAllow.
	Overlap Overlap `json:"overlap,omitempty"`
}

// wireSchedule is Schedule's JSON form: "enabled" defaults to true, which a
// plain bool field cannot express, and "timeout" is a duration string
// ("90s") or a number of seconds, as everywhere in the API.
type wireSchedule struct {
	scheduleFields
	Enabled *bool           `json:"enabled,omitempty"`
	Timeout json.RawMessage `json:"timeout,omitempty"`
	// State, Version and Revision are what GET answers beside the
	// definition; input may carry them back (a read-modify-write) and they
	// are ignored (If-Match is how a write names the revision it read).
	State    json.RawMessage `json:"state,omitempty"`
	Version  json.RawMessage `json:"version,omitempty"`
	Revision json.RawMessage `json:"revision,omitempty"`
}

// scheduleFields has Schedule's fields without its methods, so encoding
// wireSchedule does not recurse into Schedule.MarshalJSON.
type scheduleFields Schedule

// MarshalJSON writes "enabled" in place of Disabled and the timeout as a
// duration string.
func (s Schedule) MarshalJSON() ([]byte, error) {
	enabled := !s.Disabled
	w := wireSchedule{scheduleFields: scheduleFields(s), Enabled: &enabled}
	w.State, w.Version = nil, nil
	if s.Timeout != 0 {
		w.Timeout, _ = json.Marshal(s.Timeout.String()) // a string always encodes
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads what MarshalJSON writes; unknown fields are ignored
// (see Decode for input from people).
func (s *Schedule) UnmarshalJSON(data []byte) error {
	var w wireSchedule
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	return s.fromWire(&w)
}

// Decode reads one schedule from JSON input, refusing unknown fields so a
// typo is not silently ignored.
func Decode(data []byte) (Schedule, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var w wireSchedule
	if err := dec.Decode(&w); err != nil {
		return Schedule{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return Schedule{}, fmt.Errorf("%w: more than one JSON value", ErrInvalid)
	}
	var s Schedule
	err := s.fromWire(&w)
	return s, err
}

func (s *Schedule) fromWire(w *wireSchedule) error {
	*s = Schedule(w.scheduleFields)
	s.Disabled = w.Enabled != nil && !*w.Enabled
	d, err := parseTimeout(w.Timeout)
	s.Timeout = d
	return err
}

// parseTimeout reads a duration string or a number of seconds.
func parseTimeout(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		d, err := time.ParseDuration(str)
		if err != nil {
			return 0, fmt.Errorf("%w: timeout %q is not a duration (want e.g. \"90s\" or a number of seconds)", ErrInvalid, str)
		}
		return d, nil
	}
	var secs float64
	if err := json.Unmarshal(raw, &secs); err != nil || math.Abs(secs) > maxTimeout.Seconds() {
		return 0, fmt.Errorf("%w: timeout: want a duration string or a number of seconds, got %.40s", ErrInvalid, raw)
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// maxTimeout keeps a timeout in seconds from overflowing time.Duration.
const maxTimeout = 100 * 365 * 24 * time.Hour

// ErrInvalid wraps every validation error of a schedule.
var ErrInvalid = errors.New("invalid schedule")

// parser accepts 5 or 6 fields and descriptors; a time zone comes from the
// Timezone field (see spec).
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Validate reports the first thing wrong with s, naming the field.
func (s *Schedule) Validate() error {
	if err := validName(s.Name); err != nil {
		return err
	}
	if _, err := s.spec(); err != nil {
		return err
	}
	if err := conveyor.ValidateKind(s.Kind); err != nil {
		return fmt.Errorf("%w: kind: %v", ErrInvalid, err)
	}
	if s.Queue != "" {
		if err := conveyor.ValidateQueue(s.Queue); err != nil {
			return fmt.Errorf("%w: queue: %v", ErrInvalid, err)
		}
	}
	if len(s.Args) > 0 && !backend.StorableJSON(s.Args) {
		return fmt.Errorf("%w: args are not valid JSON in valid UTF-8", ErrInvalid)
	}
	if len(s.Args) > conveyor.DefaultMaxArgsBytes {
		return fmt.Errorf("%w: args are %d bytes, at most %d", ErrInvalid, len(s.Args), conveyor.DefaultMaxArgsBytes)
	}
	if err := conveyor.ValidateTags(s.Tags); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if s.MaxAttempts < 0 || s.Timeout < 0 {
		return fmt.Errorf("%w: max_attempts and timeout must not be negative", ErrInvalid)
	}
	// The ranges every enqueue checks (conveyor.Client): refused here
	// rather than at every fire.
	if s.MaxAttempts > math.MaxInt32 || s.Priority < math.MinInt32 || s.Priority > math.MaxInt32 {
		return fmt.Errorf("%w: priority and max_attempts must fit in 32 bits", ErrInvalid)
	}
	switch s.Missed {
	case "", MissedSkip, MissedRunOnce, MissedCatchUp:
	default:
		return fmt.Errorf("%w: missed must be skip, run_once or catch_up, got %q", ErrInvalid, s.Missed)
	}
	if s.CatchUpLimit < 0 || s.CatchUpLimit > maxCatchUpLimit {
		return fmt.Errorf("%w: catch_up_limit must be between 0 and %d, got %d", ErrInvalid, maxCatchUpLimit, s.CatchUpLimit)
	}
	switch s.Overlap {
	case "", OverlapAllow, OverlapSkip:
	default:
		return fmt.Errorf("%w: overlap must be allow or skip, got %q", ErrInvalid, s.Overlap)
	}
	return nil
}

func validName(name string) error {
	if name == "" || len(name) > 128 {
		return fmt.Errorf("%w: name must be 1-128 characters, got %d", ErrInvalid, len(name))
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._:-", r)
		if !ok {
			return fmt.Errorf("%w: name %q may hold only letters, digits and . _ : -", ErrInvalid, name)
		}
	}
	return nil
}

// spec parses Cron in Timezone (UTC by default).
func (s *Schedule) spec() (cron.Schedule, error) {
	expr := strings.TrimSpace(s.Cron)
	if expr == "" {
		return nil, fmt.Errorf("%w: cron is required", ErrInvalid)
	}
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return nil, fmt.Errorf("%w: cron %q: give the time zone in the timezone field", ErrInvalid, s.Cron)
	}
	tz := s.Timezone
	if tz == "" {
		tz = "UTC"
	}
	if tz == "Local" {
		return nil, fmt.Errorf("%w: timezone \"Local\" differs between machines: name the zone (e.g. Europe/Paris)", ErrInvalid)
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return nil, fmt.Errorf("%w: timezone %q: %v", ErrInvalid, s.Timezone, err)
	}
	sched, err := parser.Parse("CRON_TZ=" + tz + " " + expr)
	if err != nil {
		return nil, fmt.Errorf("%w: cron %q: %v", ErrInvalid, s.Cron, err)
	}
	if rest, ok := strings.CutPrefix(expr, "@every "); ok {
		// robfig rounds intervals to whole seconds (at least one); refuse
		// what it would change rather than run something else.
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil || d < time.Second || d%time.Second != 0 {
			return nil, fmt.Errorf("%w: cron %q: @every needs a whole number of seconds, at least 1s", ErrInvalid, s.Cron)
		}
	}
	return sched, nil
}

// missed and the other getters apply the defaults.
func (s *Schedule) missed() Missed {
	if s.Missed == "" {
		return MissedSkip
	}
	return s.Missed
}

func (s *Schedule) catchUpLimit() int {
	if s.CatchUpLimit == 0 {
		return DefaultCatchUpLimit
	}
	return s.CatchUpLimit
}

func (s *Schedule) overlap() Overlap {
	if s.Overlap == "" {
		return OverlapAllow
	}
	return s.Overlap
}

// State is what the schedulers remember of a schedule between fires. It is
// stored beside the definition and survives restarts.
type State struct {
	// Generation is set when the schedule is created, so a replica holding
	// an old copy cannot write over a schedule deleted and created again
	// (whose record version starts over).
	Generation string `json:"generation,omitempty"`
	// Pending are fire times a scheduler claimed (by compare-and-set on
	// this state) and is enqueueing, into PendingQueue; a pass that finds
	// them set (the claimer died) enqueues them again, which their unique
	// keys make harmless.
	Pending      []time.Time `json:"pending,omitempty"`
	PendingQueue string      `json:"pending_queue,omitempty"`
	// Since is when the schedule was created: fire times before it never
	// count.
	Since time.Time `json:"since"`
	// LastRun is the latest fire time handled (run or skipped).
	LastRun time.Time `json:"last_run,omitzero"`
	// NextRun is the next fire time after LastRun (or Since).
	NextRun time.Time `json:"next_run,omitzero"`
	// LastJobID is the job of the latest run, for the overlap policy.
	LastJobID string `json:"last_job_id,omitempty"`
}
