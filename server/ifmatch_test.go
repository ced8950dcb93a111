package server_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"conveyor/server"

	"github.com/stretchr/testify/require"
)

// doWith is do with extra request headers (If-Match).
func (b *bundle) doWith(header map[string]string, method, path string, body any) response {
	b.t.Helper()
	return b.send(adminToken, header, method, path, body)
}

func ifMatch(tag string) map[string]string { return map[string]string{"If-Match": tag} }

func etag(v int64) string { return `"` + strconv.FormatInt(v, 10) + `"` }

// malformedIfMatch are If-Match values refused with 400: not one strong,
// quoted version ("-1" must not mean "any version").
var malformedIfMatch = []string{`W/"1"`, `1`, `"x"`, `"-1"`, `""`, `"1", "2"`, `"1`, `"01"`}

func TestScheduleIfMatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	def := map[string]any{"name": "nightly", "cron": "0 3 * * *", "kind": "report.build"}
	r := b.do("POST", "/api/v1/schedules", def)
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	var created struct{ Revision int64 }
	r.decode(t, &created)
	require.Equal(t, etag(created.Revision), r.header.Get("ETag"), "create answers the ETag: the revision")

	get := func() (string, map[string]any) {
		t.Helper()
		r := b.do("GET", "/api/v1/schedules/nightly", nil)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		var v map[string]any
		r.decode(t, &v)
		require.Equal(t, etag(int64(v["revision"].(float64))), r.header.Get("ETag"), "GET's ETag is the body's revision")
		return r.header.Get("ETag"), v
	}
	tag1, _ := get()
	require.Equal(t, etag(created.Revision), tag1)

	// Someone else edits: the tag moves on.
	r = b.doWith(ifMatch(tag1), "PUT", "/api/v1/schedules/nightly", map[string]any{"cron": "0 3 * * *", "kind": "report.build", "queue": "theirs"})
	require.Equal(t, http.StatusOK, r.status, "the matching tag writes: %s", r.body)
	tag2 := r.header.Get("ETag")
	require.NotEqual(t, tag1, tag2)
	gotTag, _ := get()
	require.Equal(t, tag2, gotTag, "PUT answers the new ETag")

	// A write holding the old tag is refused, naming the current revision.
	r = b.doWith(ifMatch(tag1), "PUT", "/api/v1/schedules/nightly", map[string]any{"cron": "0 3 * * *", "kind": "report.build", "queue": "mine", "enabled": false})
	requireErr(t, r, http.StatusPreconditionFailed, server.CodePreconditionFailed, "at revision "+tag2[1:len(tag2)-1])
	r = b.doWith(ifMatch(tag1), "DELETE", "/api/v1/schedules/nightly", nil)
	requireErr(t, r, http.StatusPreconditionFailed, server.CodePreconditionFailed, "at revision")
	tag, v := get()
	require.Equal(t, tag2, tag, "the refused writes changed nothing")
	require.Equal(t, "theirs", v["queue"])
	require.NotEqual(t, false, v["enabled"])

	for _, bad := range malformedIfMatch {
		r = b.doWith(ifMatch(bad), "PUT", "/api/v1/schedules/nightly", map[string]any{"cron": "0 3 * * *", "kind": "report.build", "queue": "bad"})
		requireErr(t, r, http.StatusBadRequest, server.CodeBadRequest, "If-Match")
		r = b.doWith(ifMatch(bad), "DELETE", "/api/v1/schedules/nightly", nil)
		requireErr(t, r, http.StatusBadRequest, server.CodeBadRequest, "If-Match")
	}
	tag, v = get()
	require.Equal(t, tag2, tag)
	require.Equal(t, "theirs", v["queue"])

	// *: must exist, any version.
	r = b.doWith(ifMatch("*"), "PUT", "/api/v1/schedules/nightly", map[string]any{"cron": "0 3 * * *", "kind": "report.build", "queue": "star"})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	tag3 := r.header.Get("ETag")
	r = b.doWith(ifMatch("*"), "PUT", "/api/v1/schedules/other", map[string]any{"cron": "0 3 * * *", "kind": "report.build"})
	requireErr(t, r, http.StatusPreconditionFailed, server.CodePreconditionFailed, "does not exist")
	r = b.doWith(ifMatch(`"1"`), "PUT", "/api/v1/schedules/other", map[string]any{"cron": "0 3 * * *", "kind": "report.build"})
	requireErr(t, r, http.StatusPreconditionFailed, server.CodePreconditionFailed, "does not exist")
	requireErr(t, b.do("GET", "/api/v1/schedules/other", nil), http.StatusNotFound, server.CodeNotFound)

	// Without If-Match, as before: PUT creates or replaces, whatever the version.
	r = b.do("PUT", "/api/v1/schedules/other", map[string]any{"cron": "0 3 * * *", "kind": "report.build"})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	require.NotEmpty(t, r.header.Get("ETag"))
	r = b.do("PUT", "/api/v1/schedules/nightly", map[string]any{"cron": "0 4 * * *", "kind": "report.build"})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	tag4 := r.header.Get("ETag")
	require.NotEqual(t, tag3, tag4)

	// DELETE: the matching tag deletes; gone is 404, as without If-Match.
	r = b.doWith(ifMatch(tag4), "DELETE", "/api/v1/schedules/nightly", nil)
	require.Equal(t, http.StatusNoContent, r.status, "body: %s", r.body)
	requireErr(t, b.doWith(ifMatch(tag4), "DELETE", "/api/v1/schedules/nightly", nil), http.StatusNotFound, server.CodeNotFound)
	require.Equal(t, http.StatusNoContent, b.do("DELETE", "/api/v1/schedules/other", nil).status, "no If-Match: unconditional")
}

func TestWebhookIfMatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := map[string]any{"events": []string{"doc.*"}, "url": "https://example.com/hook"}
	r := b.do("POST", "/api/v1/webhooks", body)
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	var created server.WebhookView
	r.decode(t, &created)
	require.Equal(t, int64(1), created.Version)
	require.Equal(t, `"1"`, r.header.Get("ETag"))
	path := "/api/v1/webhooks/" + created.ID

	get := func() (string, server.WebhookView) {
		t.Helper()
		r := b.do("GET", path, nil)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		var v server.WebhookView
		r.decode(t, &v)
		require.Equal(t, etag(v.Version), r.header.Get("ETag"), "GET's ETag is the body's version")
		return r.header.Get("ETag"), v
	}
	tag1, _ := get()
	require.Equal(t, `"1"`, tag1)
	r = b.do("GET", "/api/v1/webhooks", nil)
	var list server.WebhookListView
	r.decode(t, &list)
	require.Len(t, list.Webhooks, 1)
	require.Equal(t, int64(1), list.Webhooks[0].Version, "the list carries each version, for the UI's If-Match")

	// A read-modify-write sends the whole view back, version included
	// (ignored): the matching tag writes.
	var edit map[string]any
	require.NoError(t, json.Unmarshal(b.do("GET", path, nil).body, &edit))
	edit["subject"] = "theirs"
	r = b.doWith(ifMatch(tag1), "PUT", path, edit)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	tag2 := r.header.Get("ETag")
	require.Equal(t, `"2"`, tag2)

	stale := map[string]any{"events": []string{"doc.*"}, "url": "https://example.com/hook", "subject": "mine", "enabled": false}
	r = b.doWith(ifMatch(tag1), "PUT", path, stale)
	requireErr(t, r, http.StatusPreconditionFailed, server.CodePreconditionFailed, "at version 2")
	r = b.doWith(ifMatch(tag1), "DELETE", path, nil)
	requireErr(t, r, http.StatusPreconditionFailed, server.CodePreconditionFailed, "at version 2")
	for _, bad := range malformedIfMatch {
		requireErr(t, b.doWith(ifMatch(bad), "PUT", path, stale), http.StatusBadRequest, server.CodeBadRequest, "If-Match")
		requireErr(t, b.doWith(ifMatch(bad), "DELETE", path, nil), http.StatusBadRequest, server.CodeBadRequest, "If-Match")
	}
	tag, v := get()
	require.Equal(t, tag2, tag, "the refused writes changed nothing")
	require.Equal(t, "theirs", v.Subject)
	require.False(t, v.Disabled)

	r = b.doWith(ifMatch("*"), "PUT", path, stale)
	require.Equal(t, http.StatusOK, r.status, "*: any version of one that exists: %s", r.body)
	requireErr(t, b.doWith(ifMatch("*"), "PUT", path+"x", stale), http.StatusNotFound, server.CodeNotFound)
	r = b.do("PUT", path, body)
	require.Equal(t, http.StatusOK, r.status, "no If-Match: unconditional, as before: %s", r.body)
	tag4 := r.header.Get("ETag")
	require.Equal(t, `"4"`, tag4)

	require.Equal(t, http.StatusNoContent, b.doWith(ifMatch(tag4), "DELETE", path, nil).status)
	requireErr(t, b.doWith(ifMatch(tag4), "DELETE", path, nil), http.StatusNotFound, server.CodeNotFound)
}
