package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"conveyor/events"
	"conveyor/webhook"
)

// WebhookListView is the body of GET /api/v1/webhooks.
type WebhookListView struct {
	Webhooks []*webhook.Subscription `json:"webhooks"`
}

func (s *Server) webhooks() *webhook.Store { return webhook.NewStore(s.client.Backend()) }

// masked is what the API shows of a subscription: the whole secret is
// given once, in the answer to its creation; header values never (read
// tokens must not learn the receiver's credentials).
func masked(sub *webhook.Subscription) *webhook.Subscription { return sub.Redacted() }

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	subs, err := s.webhooks().List(r.Context())
	if err != nil {
		return err
	}
	out := WebhookListView{Webhooks: make([]*webhook.Subscription, len(subs))}
	for i, sub := range subs {
		out.Webhooks[i] = masked(sub)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	sub, err := decodeWebhook(r)
	if err != nil {
		return err
	}
	if sub.ID != "" {
		return errorf(http.StatusBadRequest, CodeInvalidWebhook, "id is assigned by the server")
	}
	created, err := s.webhooks().Create(r.Context(), sub, s.cfg.Clock.Now())
	if err != nil {
		return webhookErr(err)
	}
	w.Header().Set("Location", "/api/v1/webhooks/"+created.ID)
	writeJSON(w, http.StatusCreated, created) // the only answer with the whole secret
	return nil
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) error {
	sub, err := s.webhooks().Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, masked(sub))
	return nil
}

// putWebhook replaces a subscription; an omitted secret keeps the stored one.
func (s *Server) putWebhook(w http.ResponseWriter, r *http.Request) error {
	sub, err := decodeWebhook(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if sub.ID != "" && sub.ID != id {
		return errorf(http.StatusBadRequest, CodeBadRequest, "body names webhook %q but the path names %q", sub.ID, id)
	}
	sub.ID = id
	updated, err := s.webhooks().Update(r.Context(), sub, s.cfg.Clock.Now())
	if err != nil {
		return webhookErr(err)
	}
	writeJSON(w, http.StatusOK, masked(updated))
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := s.webhooks().Delete(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// webhookDeliveries lists the delivery jobs of one subscription, newest
// first, with the job list's cursor and limit.
func (s *Server) webhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := s.webhooks().Get(r.Context(), id); err != nil {
		return err
	}
	q := r.URL.Query()
	for k := range q {
		if k != "cursor" && k != "limit" && k != "state" {
			return errorf(http.StatusBadRequest, CodeBadRequest, "unknown query parameter %q (want state, cursor, limit)", k)
		}
	}
	p, err := ParseListQuery(q)
	if err != nil {
		return err
	}
	p.Kind, p.Tag = webhook.Kind, "webhook:"+id
	return s.writeJobList(w, r, p)
}

func decodeWebhook(r *http.Request) (webhook.Subscription, error) {
	data, err := readBody(r)
	if err != nil {
		return webhook.Subscription{}, err
	}
	sub, err := webhook.Decode(data)
	if err != nil {
		return sub, webhookErr(err)
	}
	return sub, nil
}

func webhookErr(err error) error {
	if errors.Is(err, webhook.ErrInvalid) {
		return errorf(http.StatusBadRequest, CodeInvalidWebhook, "%v", err)
	}
	return err
}

// EventRequest is the body of POST /api/v1/events: an application event.
// ID, time and source are filled in when absent.
type EventRequest struct {
	ID      string          `json:"id,omitempty"`
	Source  string          `json:"source,omitempty"`
	Type    string          `json:"type"`
	Subject string          `json:"subject,omitempty"`
	Time    time.Time       `json:"time,omitzero"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// maxEventData bounds an event's data, well below a job's args limit (a
// delivery job's args carry the whole event).
const maxEventData = 512 << 10

// EventView answers POST /api/v1/events.
type EventView struct {
	ID string `json:"id"`
}

// postEvent publishes an application event on the server's bus (where a
// webhook.Dispatcher turns it into deliveries).
func (s *Server) postEvent(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Events == nil {
		return errorf(http.StatusServiceUnavailable, CodeUnavailable, "this server has no event bus")
	}
	data, err := readBody(r)
	if err != nil {
		return err
	}
	var req EventRequest
	if err := decodeJSON(data, &req); err != nil {
		return err
	}
	if len(req.Data) > maxEventData {
		// Its webhook deliveries (jobs whose args hold the event) could not
		// be stored: refuse it rather than accept and drop them.
		return errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "event data is %d bytes, at most %d", len(req.Data), maxEventData)
	}
	if strings.HasPrefix(req.Type, "conveyor.") {
		return errorf(http.StatusBadRequest, CodeInvalidEvent, "type %q: the conveyor.* types are reserved for conveyor itself", req.Type)
	}
	ev, err := events.New(orDefault(req.Source, "conveyor/api"), req.Type, req.Subject, nil)
	if err != nil {
		return errorf(http.StatusBadRequest, CodeInvalidEvent, "%v", err)
	}
	ev.Data = req.Data
	if req.ID != "" {
		ev.ID = req.ID
	}
	if !req.Time.IsZero() {
		ev.Time = req.Time.UTC()
	}
	if len(ev.Data) == 0 {
		ev.DataContentType = ""
	}
	if err := ev.Validate(); err != nil {
		return errorf(http.StatusBadRequest, CodeInvalidEvent, "%v", err)
	}
	if err := s.cfg.Events.Publish(r.Context(), ev); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, EventView{ID: ev.ID})
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
