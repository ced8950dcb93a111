package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"conveyor/backend"

	"math/rand/v2"
	"reflect"

	"github.com/google/uuid"
)

// Namespace is the backend record namespace holding the schedules, one
// record per schedule keyed by its name.
const Namespace = "conveyor.schedules"

// Entry is a stored schedule: its definition, its state, the record
// version that guards both, and the definition's revision.
//
// The version changes with every write, a scheduler's fires included; the
// revision only when the definition is written (create, put, update). The
// API's ETag and If-Match use the revision, so an edit or a click in the
// admin UI is refused when someone else changed the schedule, not whenever
// it fired meanwhile (an every-second schedule would refuse them all).
type Entry struct {
	Schedule
	State    State `json:"state"`
	Version  int64 `json:"version"`
	Revision int64 `json:"revision"`
}

// MarshalJSON flattens the definition next to "state" and "version" (the
// embedded Schedule's own MarshalJSON would otherwise swallow them).
func (e Entry) MarshalJSON() ([]byte, error) {
	def, err := json.Marshal(e.Schedule)
	if err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(def, &obj); err != nil {
		return nil, err
	}
	if obj["state"], err = json.Marshal(e.State); err != nil {
		return nil, err
	}
	obj["version"] = json.RawMessage(fmt.Sprint(e.Version))
	obj["revision"] = json.RawMessage(fmt.Sprint(e.Revision))
	return json.Marshal(obj)
}

// record is what one backend record holds.
type record struct {
	Schedule Schedule `json:"schedule"`
	State    State    `json:"state"`
	// Revision counts definition writes (absent, 0, in records written
	// before it existed).
	Revision int64 `json:"revision,omitempty"`
}

// Store keeps schedules in a backend's records, so every scheduler replica,
// the API and the CLI see the same ones and changes need no restart.
type Store struct {
	b backend.Records
}

// NewStore returns a store over b.
func NewStore(b backend.Records) *Store { return &Store{b: b} }

// List returns every schedule, ordered by name.
func (s *Store) List(ctx context.Context) ([]*Entry, error) {
	return backend.ListRecords(ctx, s.b, Namespace, decode)
}

// Get returns one schedule, or an error wrapping backend.ErrNotFound.
func (s *Store) Get(ctx context.Context, name string) (*Entry, error) {
	r, err := s.b.RecordGet(ctx, &backend.RecordGetParams{Namespace: Namespace, Key: name})
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", name, err)
	}
	return decode(r)
}

// Put creates def or replaces the definition of the schedule of that name,
// keeping its state (so a changed cron takes effect from the last run on,
// and a replaced definition does not fire twice). now dates a new
// schedule's start: fire times before it never run.
func (s *Store) Put(ctx context.Context, def Schedule, now time.Time) (*Entry, error) {
	if err := def.Validate(); err != nil {
		return nil, err
	}
	for {
		cur, err := s.Get(ctx, def.Name)
		var st State
		version, revision := int64(0), int64(0)
		switch {
		case err == nil && reflect.DeepEqual(cur.Schedule, def):
			// Unchanged (a scheduler declaring its schedules at every
			// start): no write, so open pages' ETags stay valid.
			return cur, nil
		case err == nil:
			st, version, revision = cur.State, cur.Version, cur.Revision
		case errors.Is(err, backend.ErrNotFound):
			st = State{Since: now.UTC(), Generation: newGeneration()}
			revision = firstRevision() - 1
		default:
			return nil, err
		}
		st.NextRun = nextAfter(&def, st)
		e, err := s.write(ctx, def, st, version, revision+1, now)
		if errors.Is(err, backend.ErrConflict) {
			continue // another writer got there first: apply over theirs
		}
		return e, err
	}
}

// Create stores a new schedule; an error wrapping backend.ErrConflict if
// one of that name exists.
func (s *Store) Create(ctx context.Context, def Schedule, now time.Time) (*Entry, error) {
	if err := def.Validate(); err != nil {
		return nil, err
	}
	st := State{Since: now.UTC(), Generation: newGeneration()}
	st.NextRun = nextAfter(&def, st)
	e, err := s.write(ctx, def, st, 0, firstRevision(), now)
	if errors.Is(err, backend.ErrConflict) {
		return nil, fmt.Errorf("schedule %q already exists: %w", def.Name, backend.ErrConflict)
	}
	return e, err
}

// UpdateIf replaces the definition of the existing schedule def.Name,
// keeping its state, if its definition is at revision ifRevision
// (backend.AnyVersion: whatever revision it is at). It is the conditional
// form of Put, for HTTP's If-Match: the revision read is guarded by the
// backend's compare-and-set write, so an edit made in between is never
// overwritten, while a fire in between (a new version, the same revision)
// only makes it read again. Errors wrap backend.ErrNotFound when there is
// no such schedule and backend.ErrConflict (naming the current revision)
// when the revision differs.
func (s *Store) UpdateIf(ctx context.Context, def Schedule, ifRevision int64, now time.Time) (*Entry, error) {
	if err := def.Validate(); err != nil {
		return nil, err
	}
	for {
		cur, err := s.Get(ctx, def.Name)
		if err != nil {
			return nil, err
		}
		if ifRevision != backend.AnyVersion && cur.Revision != ifRevision {
			return nil, staleRevision(def.Name, cur.Revision, ifRevision)
		}
		st := cur.State
		st.NextRun = nextAfter(&def, st)
		e, err := s.write(ctx, def, st, cur.Version, cur.Revision+1, now)
		if errors.Is(err, backend.ErrConflict) {
			continue // written between the read and the write: judge it again
		}
		return e, err
	}
}

// Delete removes a schedule (an error wrapping backend.ErrNotFound if there
// is none). Jobs it already enqueued stay.
func (s *Store) Delete(ctx context.Context, name string) error {
	return s.DeleteIf(ctx, name, backend.AnyVersion)
}

// DeleteIf removes a schedule if its definition is at revision ifRevision
// (backend.AnyVersion: at any revision), guarded like UpdateIf. Errors wrap
// backend.ErrNotFound when there is no such schedule and
// backend.ErrConflict (naming the current revision) when the revision
// differs.
func (s *Store) DeleteIf(ctx context.Context, name string, ifRevision int64) error {
	for {
		ifVersion := backend.AnyVersion
		if ifRevision != backend.AnyVersion {
			cur, err := s.Get(ctx, name)
			if err != nil {
				return err
			}
			if cur.Revision != ifRevision {
				return staleRevision(name, cur.Revision, ifRevision)
			}
			ifVersion = cur.Version
		}
		err := s.b.RecordDelete(ctx, &backend.RecordDeleteParams{Namespace: Namespace, Key: name, IfVersion: ifVersion})
		if errors.Is(err, backend.ErrConflict) {
			continue // written since the read (a fire, or an edit): judge it again
		}
		if err != nil {
			return fmt.Errorf("schedule %q: %w", name, err)
		}
		return nil
	}
}

// staleRevision is the error of a conditional write that found the
// definition at another revision than the caller's.
func staleRevision(name string, current, want int64) error {
	return fmt.Errorf("schedule %q is at revision %d, not %d: %w", name, current, want, backend.ErrConflict)
}

// saveState writes st as the state of the schedule e was read as, and
// returns the stored entry. It fails with an error wrapping
// backend.ErrConflict when the record changed since (another replica's
// fire, an edit, or a delete and create again: the generation tells the
// last apart, since versions start over), and with backend.ErrNotFound
// when it was deleted. The definition written is the stored one.
func (s *Store) saveState(ctx context.Context, e *Entry, st State, now time.Time) (*Entry, error) {
	cur, err := s.Get(ctx, e.Name)
	if err != nil {
		return nil, err
	}
	if cur.Version != e.Version || cur.State.Generation != e.State.Generation {
		return nil, fmt.Errorf("schedule %q changed: %w", e.Name, backend.ErrConflict)
	}
	st.Generation = cur.State.Generation
	return s.write(ctx, cur.Schedule, st, cur.Version, cur.Revision, now)
}

// newGeneration names one life of a schedule (see State.Generation).
func newGeneration() string { return uuid.NewString() }

// firstRevision is the revision a new schedule starts at: random, so that
// an If-Match holding a revision of a schedule deleted since never matches
// a new one of the same name (record versions start over, revisions would
// too), and below 2^52, so it stays exact through JavaScript's numbers
// after many writes.
func firstRevision() int64 { return 1 + rand.Int64N(1<<52) }

// write stores def and st as the record of def.Name at revision (a
// definition write passes the next one), if the record is at ifVersion.
func (s *Store) write(ctx context.Context, def Schedule, st State, ifVersion, revision int64, now time.Time) (*Entry, error) {
	value, err := json.Marshal(record{Schedule: def, State: st, Revision: revision})
	if err != nil {
		return nil, err
	}
	r, err := s.b.RecordPut(ctx, &backend.RecordPutParams{
		Namespace: Namespace, Key: def.Name, Value: value, IfVersion: ifVersion, Now: now,
	})
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", def.Name, err)
	}
	return &Entry{Schedule: def, State: st, Version: r.Version, Revision: revision}, nil
}

func decode(r *backend.Record) (*Entry, error) {
	var rec record
	if err := json.Unmarshal(r.Value, &rec); err != nil {
		return nil, fmt.Errorf("schedule %q: stored record is not a schedule: %w", r.Key, err)
	}
	return &Entry{Schedule: rec.Schedule, State: rec.State, Version: r.Version, Revision: rec.Revision}, nil
}

// nextAfter is def's first fire time after the state's last run (or its
// start); zero if the expression is invalid or never fires.
func nextAfter(def *Schedule, st State) time.Time {
	sched, err := def.spec()
	if err != nil {
		return time.Time{}
	}
	from := st.LastRun
	if from.IsZero() {
		from = st.Since
	}
	return sched.Next(from).UTC()
}

// UnmarshalJSON reads what MarshalJSON writes.
func (e *Entry) UnmarshalJSON(data []byte) error {
	var def Schedule
	if err := json.Unmarshal(data, &def); err != nil {
		return err
	}
	var rest struct {
		State    State `json:"state"`
		Version  int64 `json:"version"`
		Revision int64 `json:"revision"`
	}
	if err := json.Unmarshal(data, &rest); err != nil {
		return err
	}
	*e = Entry{Schedule: def, State: rest.State, Version: rest.Version, Revision: rest.Revision}
	return nil
}
