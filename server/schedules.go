package server

import (
	"errors"
	"net/http"
	"strconv"

	"conveyor/backend"
	"conveyor/schedule"
)

// ScheduleListView is the body of GET /api/v1/schedules.
type ScheduleListView struct {
	Schedules []*schedule.Entry `json:"schedules"`
}

func (s *Server) schedules() *schedule.Store { return schedule.NewStore(s.client.Backend()) }

func (s *Server) listSchedules(w http.ResponseWriter, r *http.Request) error {
	list, err := s.schedules().List(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ScheduleListView{Schedules: list})
	return nil
}

// createSchedule stores a new schedule (409 if the name is taken).
func (s *Server) createSchedule(w http.ResponseWriter, r *http.Request) error {
	def, err := s.decodeSchedule(r, "")
	if err != nil {
		return err
	}
	e, err := s.schedules().Create(r.Context(), def, s.cfg.Clock.Now())
	if err != nil {
		return scheduleErr(err)
	}
	w.Header().Set("Location", "/api/v1/schedules/"+e.Name)
	setETag(w, e.Revision)
	writeJSON(w, http.StatusCreated, e)
	return nil
}

func (s *Server) getSchedule(w http.ResponseWriter, r *http.Request) error {
	e, err := s.schedules().Get(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	setETag(w, e.Revision)
	writeJSON(w, http.StatusOK, e)
	return nil
}

// putSchedule creates or replaces the schedule named in the path, keeping
// the state of one that exists. With If-Match it only replaces one whose
// definition is at that revision (any revision for *); otherwise 412. The
// ETag is the definition's revision, not the record's version, which every
// fire changes (see schedule.Entry).
func (s *Server) putSchedule(w http.ResponseWriter, r *http.Request) error {
	revision, conditional, err := ifMatch(r)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	def, err := s.decodeSchedule(r, name)
	if err != nil {
		return err
	}
	var e *schedule.Entry
	if conditional {
		e, err = s.schedules().UpdateIf(r.Context(), def, revision, s.cfg.Clock.Now())
		if errors.Is(err, backend.ErrConflict) || errors.Is(err, backend.ErrNotFound) {
			return preconditionErr(err, "schedule "+strconv.Quote(name))
		}
	} else {
		e, err = s.schedules().Put(r.Context(), def, s.cfg.Clock.Now())
	}
	if err != nil {
		return scheduleErr(err)
	}
	setETag(w, e.Revision)
	writeJSON(w, http.StatusOK, e)
	return nil
}

// deleteSchedule deletes a schedule; with If-Match, only at that revision
// (412 otherwise; 404 if there is none, as without the header).
func (s *Server) deleteSchedule(w http.ResponseWriter, r *http.Request) error {
	revision, _, err := ifMatch(r)
	if err != nil {
		return err
	}
	err = s.schedules().DeleteIf(r.Context(), r.PathValue("name"), revision)
	if errors.Is(err, backend.ErrConflict) {
		return preconditionErr(err, "")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// triggerSchedule enqueues one job of the schedule now. With an
// Idempotency-Key header, once per key: a retried request answers the job
// the first one enqueued (200, "duplicate": true) instead of a second one.
func (s *Server) triggerSchedule(w http.ResponseWriter, r *http.Request) error {
	keys := r.Header.Values("Idempotency-Key")
	if len(keys) > 1 {
		return errorf(http.StatusBadRequest, CodeBadRequest, "Idempotency-Key: give one key, got %d", len(keys))
	}
	key := ""
	if len(keys) == 1 {
		if key = keys[0]; key == "" {
			return errorf(http.StatusBadRequest, CodeBadRequest, "Idempotency-Key: empty; omit the header or give a key")
		}
	}
	res, err := schedule.TriggerOnce(r.Context(), s.client, r.PathValue("name"), key)
	if err != nil {
		return scheduleErr(err)
	}
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
	}
	w.Header().Set("Location", "/api/v1/jobs/"+res.ID)
	writeJSON(w, status, EnqueueView{ID: res.ID, Duplicate: res.Duplicate, State: res.State})
	return nil
}

// decodeSchedule reads a schedule body; name, when given, is the path's
// and the body may omit it or must repeat it.
func (s *Server) decodeSchedule(r *http.Request, name string) (schedule.Schedule, error) {
	data, err := readBody(r)
	if err != nil {
		return schedule.Schedule{}, err
	}
	def, err := schedule.Decode(data)
	if err != nil {
		return def, scheduleErr(err)
	}
	if name != "" {
		if def.Name != "" && def.Name != name {
			return def, errorf(http.StatusBadRequest, CodeBadRequest, "body names schedule %q but the path names %q", def.Name, name)
		}
		def.Name = name
	}
	if err := def.Validate(); err != nil {
		return def, scheduleErr(err)
	}
	if s.cfg.KnownKinds != nil && !s.cfg.KnownKinds(def.Kind) {
		return def, errorf(http.StatusUnprocessableEntity, CodeUnknownKind, "unknown job kind %q: no worker registered it", def.Kind)
	}
	return def, nil
}

// scheduleErr maps the schedule package's errors to API errors.
func scheduleErr(err error) error {
	switch {
	case errors.Is(err, schedule.ErrInvalid):
		return errorf(http.StatusBadRequest, CodeInvalidSchedule, "%v", err)
	case errors.Is(err, backend.ErrConflict):
		return errorf(http.StatusConflict, CodeConflict, "%v", err)
	}
	return err
}
