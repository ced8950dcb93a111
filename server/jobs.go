package server

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"conveyor"

	"github.com/google/uuid"
)

// postJobs enqueues one job (an object) or a batch (an array).
func (s *Server) postJobs(w http.ResponseWriter, r *http.Request) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	reqs, batch, err := DecodeEnqueue(data)
	if err != nil {
		return err
	}
	if len(reqs) > s.cfg.MaxBatch {
		return errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "batch of %d jobs; at most %d per request", len(reqs), s.cfg.MaxBatch)
	}
	for i, req := range reqs {
		if err := conveyor.ValidateKind(req.Kind); err != nil {
			return jobErr(batch, i, err)
		}
		if s.cfg.KnownKinds != nil && !s.cfg.KnownKinds(req.Kind) {
			return jobErr(batch, i, errorf(http.StatusUnprocessableEntity, CodeUnknownKind, "unknown job kind %q: no worker registered it", req.Kind))
		}
	}
	res, err := s.client.EnqueueMany(r.Context(), reqs)
	if err != nil {
		return err
	}
	views := make([]EnqueueView, len(res))
	allDup := true
	for i, e := range res {
		views[i] = EnqueueView{ID: e.ID, Duplicate: e.Duplicate, State: e.State}
		allDup = allDup && e.Duplicate
	}
	// 201 when something was created, 200 when every job already existed
	// under its unique key.
	status := http.StatusCreated
	if allDup {
		status = http.StatusOK
	}
	if !batch {
		w.Header().Set("Location", "/api/v1/jobs/"+views[0].ID)
		writeJSON(w, status, views[0])
		return nil
	}
	writeJSON(w, status, EnqueueBatchView{Jobs: views})
	return nil
}

// jobErr prefixes the position of a job in a batch to its error.
func jobErr(batch bool, i int, err error) error {
	if !batch {
		return err
	}
	ae := toAPIError(err)
	return &apiError{Status: ae.Status, Code: ae.Code, Message: "job " + strconv.Itoa(i) + ": " + ae.Message}
}

// listQueryParams are the query parameters GET /api/v1/jobs accepts.
var listQueryParams = []string{"state", "queue", "kind", "tag", "cursor", "limit", "enqueued_after", "enqueued_before"}

// ParseListQuery turns the query of GET /api/v1/jobs into list params.
// Unknown parameters are refused so a typo does not silently list
// everything. state may be repeated or comma-separated.
func ParseListQuery(q url.Values) (*conveyor.ListParams, error) {
	for k := range q {
		if !slices.Contains(listQueryParams, k) {
			return nil, errorf(http.StatusBadRequest, CodeBadRequest, "unknown query parameter %q (known: %s)", k, strings.Join(listQueryParams, ", "))
		}
	}
	p := &conveyor.ListParams{
		Queue:  q.Get("queue"),
		Kind:   q.Get("kind"),
		Tag:    q.Get("tag"),
		Cursor: q.Get("cursor"),
	}
	for _, v := range q["state"] {
		for st := range strings.SplitSeq(v, ",") {
			st = strings.TrimSpace(st)
			if st == "" {
				continue
			}
			js := conveyor.JobState(st)
			if !js.Valid() {
				return nil, errorf(http.StatusBadRequest, CodeBadRequest, "query parameter state: unknown state %q (want scheduled, queued, running, retrying, completed, failed or cancelled)", st)
			}
			if !slices.Contains(p.States, js) {
				p.States = append(p.States, js)
			}
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, errorf(http.StatusBadRequest, CodeBadRequest, "query parameter limit: want an integer from 1 to 1000, got %q", v)
		}
		p.Limit = n
	}
	var err error
	if p.EnqueuedAfter, err = queryTime(q, "enqueued_after"); err != nil {
		return nil, err
	}
	if p.EnqueuedBefore, err = queryTime(q, "enqueued_before"); err != nil {
		return nil, err
	}
	return p, nil
}

func queryTime(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, errorf(http.StatusBadRequest, CodeBadRequest, "query parameter %s: want an RFC 3339 time like 2026-01-02T15:04:05Z, got %q", name, v)
	}
	if err := checkTimeRange(name, t); err != nil {
		return time.Time{}, errorf(http.StatusBadRequest, CodeBadRequest, "query parameter %s: %s is out of range (1970 to 2199)", name, v)
	}
	return t, nil
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) error {
	p, err := ParseListQuery(r.URL.Query())
	if err != nil {
		return err
	}
	return s.writeJobList(w, r, p)
}

// writeJobList answers with one page of jobs.
func (s *Server) writeJobList(w http.ResponseWriter, r *http.Request, p *conveyor.ListParams) error {
	res, err := s.client.List(r.Context(), p)
	if err != nil {
		return err
	}
	now := s.cfg.Clock.Now()
	out := JobListView{Jobs: make([]*JobView, len(res.Jobs)), NextCursor: res.NextCursor}
	for i, j := range res.Jobs {
		out.Jobs[i] = NewJobView(j, now)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// jobID reads the {id} path value. IDs are UUIDs; anything else cannot name
// a job, so it is a 404 without asking the backend (whose ID column may not
// even accept it).
func jobID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if _, err := uuid.Parse(id); err != nil {
		return "", errorf(http.StatusNotFound, CodeNotFound, "no job %q (job IDs are UUIDs)", truncate(id, 80))
	}
	return id, nil
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) error {
	id, err := jobID(r)
	if err != nil {
		return err
	}
	j, err := s.client.Get(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, NewJobView(j, s.cfg.Clock.Now()))
	return nil
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request) error {
	id, err := jobID(r)
	if err != nil {
		return err
	}
	j, err := s.client.Cancel(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, NewJobView(j, s.cfg.Clock.Now()))
	return nil
}

func (s *Server) retryJob(w http.ResponseWriter, r *http.Request) error {
	id, err := jobID(r)
	if err != nil {
		return err
	}
	j, err := s.client.Retry(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, NewJobView(j, s.cfg.Clock.Now()))
	return nil
}

func (s *Server) deleteJob(w http.ResponseWriter, r *http.Request) error {
	id, err := jobID(r)
	if err != nil {
		return err
	}
	if err := s.client.Delete(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listQueues(w http.ResponseWriter, r *http.Request) error {
	qs, err := s.client.Queues(r.Context())
	if err != nil {
		return err
	}
	now := s.cfg.Clock.Now()
	out := QueueListView{Queues: make([]QueueView, len(qs))}
	for i := range qs {
		out.Queues[i] = NewQueueView(&qs[i], now)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) pauseQueue(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := s.client.PauseQueue(r.Context(), name); err != nil {
		return queueErr(err)
	}
	writeJSON(w, http.StatusOK, QueueStateView{Name: name, Paused: true})
	return nil
}

func (s *Server) resumeQueue(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := s.client.ResumeQueue(r.Context(), name); err != nil {
		return queueErr(err)
	}
	writeJSON(w, http.StatusOK, QueueStateView{Name: name, Paused: false})
	return nil
}

// queueErr reports a bad queue name as a bad request (the client reports it
// as an invalid job, which would confuse here).
func queueErr(err error) error {
	if errors.Is(err, conveyor.ErrInvalidJob) {
		return errorf(http.StatusBadRequest, CodeBadRequest, "%s", strings.TrimPrefix(err.Error(), conveyor.ErrInvalidJob.Error()+": "))
	}
	return err
}
