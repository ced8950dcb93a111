package server_test

import (
	"net/http"
	"strings"
	"testing"

	"conveyor/webhook"

	"github.com/stretchr/testify/require"
)

// TestAdminUIRotateWebhookSecret drives the webhooks page in Chromium:
// "Rotate secret" asks first, then shows the new secret once; the old one
// is kept as the previous secret, shown masked with its end on the
// webhook's page; the list never shows either.
func TestAdminUIRotateWebhookSecret(t *testing.T) {
	t.Parallel()
	browser := newBrowser(t)
	b := setup(t)
	r := b.do("POST", "/api/v1/webhooks", `{"events":["conveyor.job.failed"],"url":"https://hooks.example.com/r"}`)
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	var created webhook.Subscription
	r.decode(t, &created)
	store := webhook.NewStore(b.backend)

	tb := openTab(t, browser, b, adminToken, "#/webhooks")
	row := `#webhook-list tr[data-webhook="` + created.ID + `"]`
	tb.wait(`document.querySelector('` + row + `')`)

	// Answering no leaves the secret alone.
	tb.click(row + ` button[data-action="rotate"]`)
	tb.wait(`document.getElementById("confirm").open`)
	require.Contains(t, tb.text("#confirm-text"), "for a day")
	tb.click("#confirm-no")
	tb.wait(`!document.getElementById("confirm").open`)
	sub, err := store.Get(t.Context(), created.ID)
	require.NoError(t, err)
	require.Equal(t, created.Secret, sub.Secret)

	tb.click(row + ` button[data-action="rotate"]`)
	tb.confirmDialog()
	tb.wait(`document.querySelector("#webhook-secret-value") && !document.getElementById("webhook-secret").hidden`)
	shown := tb.text("#webhook-secret-value")
	require.True(t, strings.HasPrefix(shown, "whsec_"), shown)
	require.Contains(t, tb.text("#webhook-secret"), "Secret rotated")
	sub, err = store.Get(t.Context(), created.ID)
	require.NoError(t, err)
	require.Equal(t, sub.Secret, shown, "the secret shown is the new stored one")
	require.Equal(t, created.Secret, sub.PreviousSecret, "the old one signs on for the grace period")
	require.NotContains(t, tb.text("#webhook-list"), shown)
	tb.click("#webhook-secret button")
	tb.wait(`document.getElementById("webhook-secret").hidden`)

	// Disabling afterwards sends the view back: the previous secret stays.
	tb.click(row + ` button[data-action="disable"]`)
	tb.wait(`document.querySelector('` + row + `').dataset.enabled === "false"`)
	sub, err = store.Get(t.Context(), created.ID)
	require.NoError(t, err)
	require.True(t, sub.Disabled)
	require.Equal(t, shown, sub.Secret)
	require.Equal(t, created.Secret, sub.PreviousSecret)

	// The webhook's page shows the previous secret masked, and until when.
	tb.click(row + ` a.button`)
	tb.waitText("#webhook-previous-secret", "signs too until")
	fields := tb.text("#webhook-fields")
	require.Contains(t, fields, webhook.MaskSecret(created.Secret))
	require.NotContains(t, fields, created.Secret[10:])
	require.NotContains(t, fields, shown[10:])
}
