// Package events is conveyor's event bus (DESIGN.md §7): CloudEvents 1.0
// envelopes published by the worker runtime (job lifecycle) and by
// applications (their own types, e.g. doc.created), delivered to the
// subscribers whose type pattern matches.
//
// Bus is the port; Memory is the in-process adapter. A bus delivers to
// subscribers in the publishing process: webhooks stay reliable across
// processes because their dispatcher turns each matching event into a
// delivery job in the backend at publish time (package webhook).
package events

import (
	"context"
	"conveyor/backend"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"conveyor"

	"github.com/google/uuid"
)

// SpecVersion is the CloudEvents version of every Event.
const SpecVersion = "1.0"

// Event is one CloudEvents 1.0 event in its JSON form.
type Event struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Time            time.Time       `json:"time"`
	Subject         string          `json:"subject,omitempty"`
	DataContentType string          `json:"datacontenttype,omitempty"`
	Data            json.RawMessage `json:"data,omitempty"`
}

// New returns an event of type typ from source about subject with data
// encoded as JSON, with a fresh ID and the current time.
func New(source, typ, subject string, data any) (*Event, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("event %s: data: %w", typ, err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	ev := &Event{SpecVersion: SpecVersion, ID: id.String(), Source: source, Type: typ, Time: time.Now().UTC(),
		Subject: subject, DataContentType: "application/json", Data: raw}
	return ev, ev.Validate()
}

// ErrInvalid wraps every validation error of an event.
var ErrInvalid = errors.New("invalid event")

// Validate checks the attributes CloudEvents requires and keeps types to
// dot-separated names, so patterns can match them.
func (e *Event) Validate() error {
	switch {
	case e.SpecVersion != SpecVersion:
		return fmt.Errorf("%w: specversion must be %q, got %q", ErrInvalid, SpecVersion, e.SpecVersion)
	case e.ID == "" || len(e.ID) > 256 || strings.ContainsFunc(e.ID, func(r rune) bool { return r <= ' ' || r > '~' }):
		return fmt.Errorf("%w: id must be 1-256 visible ASCII characters (it travels in a header)", ErrInvalid)
	case e.Source == "" || len(e.Source) > 1024:
		return fmt.Errorf("%w: source must be 1-1024 characters", ErrInvalid)
	case e.Time.IsZero():
		return fmt.Errorf("%w: time is required", ErrInvalid)
	case len(e.Data) > 0 && !backend.StorableJSON(e.Data):
		// Webhook deliveries carry the data as job args, which must be storable.
		return fmt.Errorf("%w: data is not valid JSON in valid UTF-8", ErrInvalid)
	}
	return ValidType(e.Type)
}

// ValidType reports a type that is not 1-200 characters of dot-separated
// segments of letters, digits, '_' and '-'.
func ValidType(typ string) error {
	if typ == "" || len(typ) > 200 {
		return fmt.Errorf("%w: type must be 1-200 characters", ErrInvalid)
	}
	for seg := range strings.SplitSeq(typ, ".") {
		if seg == "" || strings.Trim(seg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
			return fmt.Errorf("%w: type %q must be dot-separated names of letters, digits, _ and -", ErrInvalid, typ)
		}
	}
	return nil
}

// Match reports whether typ matches pattern: segments are compared one by
// one, "*" matches any one segment, and a final "**" (or "*" as the whole
// pattern) matches the rest, e.g. "conveyor.job.*" matches
// "conveyor.job.failed" and "doc.**" matches "doc.page.created".
func Match(pattern, typ string) bool {
	if pattern == "*" || pattern == "**" {
		return true
	}
	ps, ts := strings.Split(pattern, "."), strings.Split(typ, ".")
	for i, p := range ps {
		if p == "**" && i == len(ps)-1 {
			return true
		}
		if i >= len(ts) || p != "*" && p != ts[i] {
			return false
		}
	}
	return len(ps) == len(ts)
}

// ValidPattern reports a pattern Match cannot use.
func ValidPattern(pattern string) error {
	if pattern == "*" || pattern == "**" {
		return nil
	}
	segs := strings.Split(pattern, ".")
	for i, s := range segs {
		if s == "*" || s == "**" && i == len(segs)-1 {
			continue
		}
		if err := ValidType(s); err != nil || s == "**" {
			return fmt.Errorf("%w: pattern %q: segments are names, * (one segment) or a final **", ErrInvalid, pattern)
		}
	}
	return nil
}

// Handler receives the events of a subscription. It runs on the
// publisher's goroutine: it must be quick (hand slow work to a job).
type Handler func(ctx context.Context, ev *Event)

// Bus publishes events to subscribers.
type Bus interface {
	// Publish validates ev and hands it to every subscriber whose pattern
	// matches its type.
	Publish(ctx context.Context, ev *Event) error
	// Subscribe calls h for each matching event until cancel is called.
	Subscribe(pattern string, h Handler) (cancel func(), err error)
}

// JobEventSource is the source of the job lifecycle events the worker
// hook publishes.
const JobEventSource = "conveyor/worker"

// JobData is the data of a job lifecycle event.
type JobData struct {
	ID          string                 `json:"id"`
	Kind        string                 `json:"kind"`
	Queue       string                 `json:"queue"`
	Attempt     int                    `json:"attempt"`
	MaxAttempts int                    `json:"max_attempts"`
	Tags        []string               `json:"tags,omitempty"`
	Result      json.RawMessage        `json:"result,omitempty"`
	Error       *conveyor.AttemptError `json:"error,omitempty"`
	RunAt       *time.Time             `json:"run_at,omitempty"`
	DurationMS  float64                `json:"duration_ms,omitempty"`
}

// FromJobEvent turns a worker's JobEvent into a CloudEvent whose subject
// is the job ID.
func FromJobEvent(je conveyor.JobEvent) (*Event, error) {
	d := JobData{ID: je.Job.ID, Kind: je.Job.Kind, Queue: je.Job.Queue, Attempt: je.Job.Attempt,
		MaxAttempts: je.Job.MaxAttempts, Tags: je.Job.Tags, Error: je.Error,
		DurationMS: float64(je.Duration.Microseconds()) / 1000}
	if len(je.Result) > 0 && json.Valid(je.Result) {
		d.Result = je.Result
	}
	if !je.RunAt.IsZero() {
		t := je.RunAt.UTC()
		d.RunAt = &t
	}
	return New(JobEventSource, je.Type, je.Job.ID, d)
}

// WorkerHook returns a WorkerConfig.OnJobEvent that publishes each job
// lifecycle event on bus from a goroutine of its own, so subscribers (a
// webhook dispatcher enqueueing deliveries, a slow stream) never hold up a
// job's outcome: up to hookBuffer events wait, newer ones are dropped and
// reported to onErr, as are publishing errors (onErr nil: dropped
// silently). stop ends the goroutine after the events already queued.
func WorkerHook(bus Bus, onErr func(error)) (hook func(conveyor.JobEvent), stop func()) {
	q := make(chan conveyor.JobEvent, hookBuffer)
	done := make(chan struct{})
	var once sync.Once
	go func() {
		defer close(done)
		for je := range q {
			ev, err := FromJobEvent(je)
			if err == nil {
				err = bus.Publish(context.Background(), ev)
			}
			if err != nil && onErr != nil {
				onErr(err)
			}
		}
	}()
	var mu sync.RWMutex // hook's sends and stop's close never overlap
	closed := false
	hook = func(je conveyor.JobEvent) {
		mu.RLock()
		defer mu.RUnlock()
		if closed {
			return
		}
		select {
		case q <- je:
		default:
			if onErr != nil {
				onErr(fmt.Errorf("events: %d job events waiting, %s of job %s dropped", hookBuffer, je.Type, je.Job.ID))
			}
		}
	}
	stop = func() {
		once.Do(func() {
			mu.Lock()
			closed = true
			close(q)
			mu.Unlock()
		})
		<-done
	}
	return hook, stop
}

// hookBuffer is how many job events wait for WorkerHook's publisher.
const hookBuffer = 4096
