package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"conveyor/backend"
	"conveyor/events"
	"conveyor/webhook"
)

// WebhookListView is the body of GET /api/v1/webhooks.
type WebhookListView struct {
	Webhooks []*WebhookView `json:"webhooks"`
}

// WebhookView is a subscription as the API shows it, with "version": the
// version of its record, which is also its ETag and what If-Match names.
type WebhookView struct {
	*webhook.Subscription
	Version int64
}

// MarshalJSON puts "version" beside the subscription's own fields (the
// embedded Subscription's MarshalJSON would otherwise drop it).
func (v WebhookView) MarshalJSON() ([]byte, error) {
	data, err := json.Marshal(v.Subscription)
	if err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, err
	}
	obj["version"] = json.RawMessage(strconv.FormatInt(v.Version, 10))
	return json.Marshal(obj)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (v *WebhookView) UnmarshalJSON(data []byte) error {
	var sub webhook.Subscription
	if err := json.Unmarshal(data, &sub); err != nil {
		return err
	}
	var rest struct {
		Version int64 `json:"version"`
	}
	if err := json.Unmarshal(data, &rest); err != nil {
		return err
	}
	*v = WebhookView{Subscription: &sub, Version: rest.Version}
	return nil
}

// maskedView is masked(v) as a WebhookView.
func (s *Server) maskedView(v *webhook.Versioned) *WebhookView {
	return &WebhookView{Subscription: s.masked(v.Subscription), Version: v.Version}
}

func (s *Server) webhooks() *webhook.Store { return webhook.NewStore(s.client.Backend()) }

// masked is what the API shows of a subscription: the whole secret is
// given once, in the answer to its creation; header values never (read
// tokens must not learn the receiver's credentials).
// A previous secret whose grace period is over is left out.
func (s *Server) masked(sub *webhook.Subscription) *webhook.Subscription {
	return sub.RedactedAt(s.cfg.Clock.Now())
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	subs, err := s.webhooks().ListVersioned(r.Context())
	if err != nil {
		return err
	}
	out := WebhookListView{Webhooks: make([]*WebhookView, len(subs))}
	for i, sub := range subs {
		out.Webhooks[i] = s.maskedView(sub)
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
	// A record's first version is 1 (backend.Record), so the new
	// subscription's is known without reading it back.
	setETag(w, 1)
	writeJSON(w, http.StatusCreated, &WebhookView{Subscription: created, Version: 1}) // the only answer with the whole secret
	return nil
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) error {
	v, err := s.webhooks().GetVersioned(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	setETag(w, v.Version)
	writeJSON(w, http.StatusOK, s.maskedView(v))
	return nil
}

// putWebhook replaces a subscription; an omitted secret keeps the stored
// one. With If-Match, only if it is at that version (412 otherwise; 404 if
// there is none, as without the header).
func (s *Server) putWebhook(w http.ResponseWriter, r *http.Request) error {
	version, _, err := ifMatch(r)
	if err != nil {
		return err
	}
	sub, err := decodeWebhook(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if sub.ID != "" && sub.ID != id {
		return errorf(http.StatusBadRequest, CodeBadRequest, "body names webhook %q but the path names %q", sub.ID, id)
	}
	sub.ID = id
	updated, err := s.webhooks().UpdateIf(r.Context(), sub, version, s.cfg.Clock.Now())
	if errors.Is(err, backend.ErrConflict) {
		return preconditionErr(err, "")
	}
	if err != nil {
		return webhookErr(err)
	}
	setETag(w, updated.Version)
	writeJSON(w, http.StatusOK, s.maskedView(updated))
	return nil
}

// deleteWebhook deletes a subscription; with If-Match, only at that
// version (412 otherwise; 404 if there is none, as without the header).
func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	version, _, err := ifMatch(r)
	if err != nil {
		return err
	}
	err = s.webhooks().DeleteIf(r.Context(), r.PathValue("id"), version)
	if errors.Is(err, backend.ErrConflict) {
		return preconditionErr(err, "")
	}
	if err != nil {
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
	sub, err := webhook.Decode(withoutVersion(data))
	if err != nil {
		return sub, webhookErr(err)
	}
	return sub, nil
}

// withoutVersion drops a top-level "version" from a JSON object: answers
// carry it, so a read-modify-write sends it back, and like a schedule's it
// is ignored (If-Match is how a write names the version it expects).
// Anything else is returned as is, for the decoder to judge.
func withoutVersion(data []byte) []byte {
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil {
		return data
	}
	if _, ok := obj["version"]; !ok {
		return data
	}
	delete(obj, "version")
	out, err := json.Marshal(obj)
	if err != nil {
		return data
	}
	return out
}

// RotateSecretRequest is the optional body of POST
// /api/v1/webhooks/{id}/rotate-secret.
type RotateSecretRequest struct {
	// GraceSeconds is how long the old secret keeps signing deliveries
	// beside the new one: 0 drops it at once, at most 30 days. Default
	// 86400 (a day).
	GraceSeconds *int64 `json:"grace_seconds,omitempty"`
}

// defaultRotationGrace gives receivers a day to take the new secret.
const defaultRotationGrace = 24 * time.Hour

// rotateWebhookSecret gives a subscription a new secret, the old one still
// signing for the grace period, and answers with the new secret in clear:
// like creation's, the only answer that shows it. With If-Match, only at
// that version (412 otherwise).
func (s *Server) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) error {
	version, _, err := ifMatch(r)
	if err != nil {
		return err
	}
	data, err := readBody(r)
	if err != nil {
		return err
	}
	grace := defaultRotationGrace
	if len(bytes.TrimSpace(data)) > 0 {
		var req RotateSecretRequest
		if err := decodeJSON(data, &req); err != nil {
			return err
		}
		if g := req.GraceSeconds; g != nil {
			if limit := int64(webhook.MaxRotationGrace / time.Second); *g < 0 || *g > limit {
				return errorf(http.StatusBadRequest, CodeBadRequest, "grace_seconds: %d is out of range (0 to %d, 30 days)", *g, limit)
			}
			grace = time.Duration(*g) * time.Second
		}
	}
	v, err := s.webhooks().RotateSecretIf(r.Context(), r.PathValue("id"), version, grace, s.cfg.Clock.Now())
	if errors.Is(err, backend.ErrConflict) {
		return preconditionErr(err, "")
	}
	if err != nil {
		return webhookErr(err)
	}
	// Everything masked as in a GET (the old secret and header values
	// included) but the new secret.
	shown := s.masked(v.Subscription)
	shown.Secret = v.Subscription.Secret
	setETag(w, v.Version)
	writeJSON(w, http.StatusOK, &WebhookView{Subscription: shown, Version: v.Version})
	return nil
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
