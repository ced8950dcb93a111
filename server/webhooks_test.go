package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"conveyor"
	"conveyor/events"
	"conveyor/server"
	"conveyor/webhook"

	"github.com/stretchr/testify/require"
)

func TestWebhooksCRUD(t *testing.T) {
	t.Parallel()
	b := setup(t)

	r := b.do("POST", "/api/v1/webhooks", `{"events":["conveyor.job.failed"],"kind":"demo.fail","url":"https://example.com/hook","headers":{"X-Team":"ops"}}`)
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	var created webhook.Subscription
	r.decode(t, &created)
	require.NotEmpty(t, created.ID)
	require.True(t, strings.HasPrefix(created.Secret, "whsec_"))
	require.Equal(t, "/api/v1/webhooks/"+created.ID, r.header.Get("Location"))

	// Elsewhere the secret and header values are masked (a read token must
	// not learn the receiver's credentials); sending them back masked keeps them.
	r = b.doAs(readToken, "GET", "/api/v1/webhooks/"+created.ID, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.NotContains(t, string(r.body), "ops")
	var got webhook.Subscription
	r.decode(t, &got)
	require.Equal(t, webhook.MaskSecret(created.Secret), got.Secret)
	require.Equal(t, map[string]string{"X-Team": webhook.Masked}, got.Headers)
	got.URL = "https://example.org/hook"
	got.Disabled = true
	r = b.do("PUT", "/api/v1/webhooks/"+created.ID, got)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	stored, err := webhook.NewStore(b.backend).Get(context.Background(), created.ID)
	require.NoError(t, err)
	require.Equal(t, created.Secret, stored.Secret)
	require.Equal(t, map[string]string{"X-Team": "ops"}, stored.Headers)
	require.Equal(t, "https://example.org/hook", stored.URL)
	require.True(t, stored.Disabled)

	var list server.WebhookListView
	b.doAs(readToken, "GET", "/api/v1/webhooks", nil).decode(t, &list)
	require.Len(t, list.Webhooks, 1)
	require.NotContains(t, list.Webhooks[0].Secret, created.Secret[10:])

	// Deliveries are the subscription's delivery jobs.
	r = b.do("GET", "/api/v1/webhooks/"+created.ID+"/deliveries?limit=10", nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	require.JSONEq(t, `{"jobs":[]}`, string(r.body))
	requireErr(t, b.do("GET", "/api/v1/webhooks/"+created.ID+"/deliveries?kind=x", nil), 400, server.CodeBadRequest, `"kind"`)

	require.Equal(t, http.StatusNoContent, b.do("DELETE", "/api/v1/webhooks/"+created.ID, nil).status)
	requireErr(t, b.do("GET", "/api/v1/webhooks/"+created.ID, nil), 404, server.CodeNotFound)
	requireErr(t, b.do("GET", "/api/v1/webhooks/"+created.ID+"/deliveries", nil), 404, server.CodeNotFound)
	requireErr(t, b.do("PUT", "/api/v1/webhooks/"+created.ID, `{"events":["*"],"url":"https://example.com"}`), 404, server.CodeNotFound)
	require.Positive(t, b.validated)
}

func TestWebhooksRefuseBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for body, want := range map[string]string{
		`{"url":"https://example.com"}`:                               "give at least one type pattern",
		`{"events":["*"],"url":"ftp://example.com"}`:                  "want an absolute http",
		`{"events":["*"],"url":"https://example.com","secret":"abc"}`: "secret must start",
		`{"events":["*"],"url":"https://example.com","urll":"x"}`:     `unknown field "urll"`,
		`{"events":["a..b"],"url":"https://example.com"}`:             "pattern",
		`{"events":["*"],"url":"https://example.com","id":"mine"}`:    "id is assigned by the server",
	} {
		requireErr(t, b.do("POST", "/api/v1/webhooks", body), 400, server.CodeInvalidWebhook, want)
	}
	requireErr(t, b.doAs(readToken, "POST", "/api/v1/webhooks", `{"events":["*"],"url":"https://example.com"}`), 403, server.CodeForbidden)
	var list server.WebhookListView
	b.do("GET", "/api/v1/webhooks", nil).decode(t, &list)
	require.Empty(t, list.Webhooks, "nothing was stored")
}

func TestPostEventDispatchesToWebhooks(t *testing.T) {
	t.Parallel()
	bus := events.NewMemory()
	var mu sync.Mutex
	var seen []*events.Event
	_, err := bus.Subscribe("doc.**", func(_ context.Context, ev *events.Event) {
		mu.Lock()
		seen = append(seen, ev)
		mu.Unlock()
	})
	require.NoError(t, err)
	b := setup(t, func(o *setupOpts) { o.events = bus })
	disp := webhook.NewDispatcher(b.client, webhook.DispatcherConfig{})
	_, err = disp.Attach(bus)
	require.NoError(t, err)
	r := b.do("POST", "/api/v1/webhooks", `{"events":["doc.*"],"url":"https://example.com/hook"}`)
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	var sub webhook.Subscription
	r.decode(t, &sub)

	r = b.do("POST", "/api/v1/events", `{"type":"doc.created","subject":"doc-7","data":{"title":"hello"}}`)
	require.Equal(t, http.StatusAccepted, r.status, "body: %s", r.body)
	var ev server.EventView
	r.decode(t, &ev)
	require.Len(t, seen, 1)
	require.Equal(t, ev.ID, seen[0].ID)
	require.Equal(t, "conveyor/api", seen[0].Source)
	require.JSONEq(t, `{"title":"hello"}`, string(seen[0].Data))

	// The delivery job waits for a worker; the API lists it.
	var jobs server.JobListView
	b.do("GET", "/api/v1/webhooks/"+sub.ID+"/deliveries", nil).decode(t, &jobs)
	require.Len(t, jobs.Jobs, 1)
	require.Equal(t, webhook.Kind, jobs.Jobs[0].Kind)
	require.Equal(t, conveyor.StateQueued, jobs.Jobs[0].State)
	var args webhook.DeliveryArgs
	require.NoError(t, json.Unmarshal(jobs.Jobs[0].Args, &args))
	require.Equal(t, ev.ID, args.Event.ID)

	requireErr(t, b.do("POST", "/api/v1/events", `{"type":"conveyor.job.failed"}`), 400, server.CodeInvalidEvent, "reserved")
	requireErr(t, b.do("POST", "/api/v1/events", `{"type":"doc.x","data":"`+strings.Repeat("x", 600<<10)+`"}`), 413, server.CodeTooLarge, "event data")
	requireErr(t, b.do("POST", "/api/v1/events", `{"type":"bad type"}`), 400, server.CodeInvalidEvent, "dot-separated")
	requireErr(t, b.do("POST", "/api/v1/events", `{"type":"doc.x","data":`), 400, server.CodeInvalidJSON)
	requireErr(t, b.doAs(readToken, "POST", "/api/v1/events", `{"type":"doc.x"}`), 403, server.CodeForbidden)
}

func TestPostEventWithoutBus(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireErr(t, b.do("POST", "/api/v1/events", `{"type":"doc.created"}`), 503, server.CodeUnavailable, "no event bus")
}

func TestWebhookRotateSecret(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.do("POST", "/api/v1/webhooks", `{"events":["*"],"url":"https://example.com/hook","headers":{"X-Key":"H3ADER"}}`)
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	var created webhook.Subscription
	r.decode(t, &created)
	path := "/api/v1/webhooks/" + created.ID + "/rotate-secret"

	// No body: a day's grace; the new secret in clear, the old one masked.
	before := time.Now()
	r = b.do("POST", path, nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	require.NotEmpty(t, r.header.Get("ETag"))
	var rotated webhook.Subscription
	r.decode(t, &rotated)
	require.True(t, strings.HasPrefix(rotated.Secret, "whsec_"))
	require.NotEqual(t, created.Secret, rotated.Secret)
	require.NotContains(t, string(r.body), created.Secret[10:], "the old secret is not shown again")
	require.NotContains(t, string(r.body), "H3ADER", "nor header values")
	require.Equal(t, webhook.MaskSecret(created.Secret), rotated.PreviousSecret)
	require.WithinRange(t, rotated.PreviousSecretExpiresAt, before.Add(24*time.Hour-time.Second), time.Now().Add(24*time.Hour))
	stored, err := webhook.NewStore(b.backend).Get(context.Background(), created.ID)
	require.NoError(t, err)
	require.Equal(t, rotated.Secret, stored.Secret)
	require.Equal(t, created.Secret, stored.PreviousSecret)

	// Neither secret is shown whole by get or list, to any token.
	for _, tok := range []string{readToken, adminToken} {
		for _, p := range []string{"/api/v1/webhooks/" + created.ID, "/api/v1/webhooks"} {
			r := b.doAs(tok, "GET", p, nil)
			require.Equal(t, http.StatusOK, r.status)
			require.NotContains(t, string(r.body), created.Secret[10:], p)
			require.NotContains(t, string(r.body), rotated.Secret[10:], p)
			require.Contains(t, string(r.body), `"previous_secret":"`+webhook.MaskSecret(created.Secret)+`"`, p)
		}
	}

	// PUT keeps the previous secret when the view comes back as shown, and
	// refuses one set by the client.
	var view webhook.Subscription
	b.do("GET", "/api/v1/webhooks/"+created.ID, nil).decode(t, &view)
	view.URL = "https://example.org/hook"
	r = b.do("PUT", "/api/v1/webhooks/"+created.ID, view)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	view.PreviousSecret = webhook.NewSecret()
	requireErr(t, b.do("PUT", "/api/v1/webhooks/"+created.ID, view), 400, server.CodeInvalidWebhook, "previous_secret")
	stored, err = webhook.NewStore(b.backend).Get(context.Background(), created.ID)
	require.NoError(t, err)
	require.Equal(t, created.Secret, stored.PreviousSecret)
	require.Equal(t, "https://example.org/hook", stored.URL)

	// Grace 0 drops the old secret at once.
	r = b.do("POST", path, `{"grace_seconds":0}`)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var now webhook.Subscription
	r.decode(t, &now)
	require.Empty(t, now.PreviousSecret)
	require.NotContains(t, string(r.body), "previous_secret")
}

func TestWebhookRotateSecretRefusesBadRequests(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.do("POST", "/api/v1/webhooks", `{"events":["*"],"url":"https://example.com/hook"}`)
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	var created webhook.Subscription
	r.decode(t, &created)
	path := "/api/v1/webhooks/" + created.ID + "/rotate-secret"

	requireErr(t, b.do("POST", path, `{"grace_seconds":-1}`), 400, server.CodeBadRequest, "grace_seconds", "out of range")
	requireErr(t, b.do("POST", path, `{"grace_seconds":2592001}`), 400, server.CodeBadRequest, "grace_seconds", "out of range")
	requireErr(t, b.do("POST", path, `{"grace":60}`), 400, server.CodeUnknownField, `"grace"`)
	requireErr(t, b.do("POST", path, `{"grace_seconds":"1h"}`), 400, server.CodeInvalidJSON, "grace_seconds")
	requireErr(t, b.do("POST", path, `{"grace_seconds":`), 400, server.CodeInvalidJSON)
	requireErr(t, b.doAs(readToken, "POST", path, nil), 403, server.CodeForbidden)
	requireErr(t, b.do("POST", "/api/v1/webhooks/nope/rotate-secret", nil), 404, server.CodeNotFound)
	requireErr(t, b.doWith(ifMatch(`"2"`), "POST", path, nil), 412, server.CodePreconditionFailed, "at version 1")
	requireErr(t, b.doWith(ifMatch(`W/"1"`), "POST", path, nil), 400, server.CodeBadRequest, "If-Match")

	stored, err := webhook.NewStore(b.backend).Get(context.Background(), created.ID)
	require.NoError(t, err)
	require.Equal(t, created.Secret, stored.Secret, "no refused request rotated the secret")
	require.Empty(t, stored.PreviousSecret)

	// The version read: rotated, the answer's ETag is the next one.
	r = b.doWith(ifMatch(`"1"`), "POST", path, nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	require.Equal(t, `"2"`, r.header.Get("ETag"))
}
