package server

import (
	"errors"
	"net/http"

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
	writeJSON(w, http.StatusCreated, e)
	return nil
}

func (s *Server) getSchedule(w http.ResponseWriter, r *http.Request) error {
	e, err := s.schedules().Get(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

// putSchedule creates or replaces the schedule named in the path, keeping
// the state of one that exists.
func (s *Server) putSchedule(w http.ResponseWriter, r *http.Request) error {
	def, err := s.decodeSchedule(r, r.PathValue("name"))
	if err != nil {
		return err
	}
	e, err := s.schedules().Put(r.Context(), def, s.cfg.Clock.Now())
	if err != nil {
		return scheduleErr(err)
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

func (s *Server) deleteSchedule(w http.ResponseWriter, r *http.Request) error {
	if err := s.schedules().Delete(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// triggerSchedule enqueues one job of the schedule now.
func (s *Server) triggerSchedule(w http.ResponseWriter, r *http.Request) error {
	res, err := schedule.Trigger(r.Context(), s.client, r.PathValue("name"))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/jobs/"+res.ID)
	writeJSON(w, http.StatusCreated, EnqueueView{ID: res.ID, Duplicate: res.Duplicate, State: res.State})
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
