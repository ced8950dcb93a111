package webhook_test

import (
	"context"
	"testing"
	"time"

	"conveyor/backend"
	"conveyor/webhook"

	"github.com/stretchr/testify/require"
)

// interposer runs hook once, just before the first RecordPut it forwards:
// another writer gets in between an update's read and its write.
type interposer struct {
	backend.Records
	hook func()
}

func (i *interposer) RecordPut(ctx context.Context, p *backend.RecordPutParams) (*backend.Record, error) {
	if h := i.hook; h != nil {
		i.hook = nil
		h()
	}
	return i.Records.RecordPut(ctx, p)
}

// TestUpdateDoesNotUndoAConcurrentRotation: an update that keeps the
// secret (none sent) and loses the race to a rotation tries again from the
// request as sent, so the rotation's new secret survives.
func TestUpdateDoesNotUndoAConcurrentRotation(t *testing.T) {
	ctx := t.Context()
	b, direct, created, now := raceSetup(t)
	edit := webhook.Subscription{ID: created.ID, Events: []string{"*"}, URL: "https://example.com/other"}
	var rotated *webhook.Versioned
	ip := &interposer{Records: b, hook: func() {
		var err error
		rotated, err = direct.RotateSecret(ctx, created.ID, time.Hour, now)
		require.NoError(t, err)
	}}
	_, err := webhook.NewStore(ip).Update(ctx, edit, now)
	require.NoError(t, err)
	got, err := direct.Get(ctx, created.ID)
	require.NoError(t, err)
	require.Equal(t, "https://example.com/other", got.URL)
	require.Equal(t, rotated.Subscription.Secret, got.Secret, "the rotation's new secret survives the concurrent edit")
	require.Equal(t, created.Secret, got.PreviousSecret)
}

// TestUpdateDuringASecondRotationIsNotRefused: the retry of an update that
// sent no previous secret is not mistaken for one that forges it.
func TestUpdateDuringASecondRotationIsNotRefused(t *testing.T) {
	ctx := t.Context()
	b, direct, created, now := raceSetup(t)
	_, err := direct.RotateSecret(ctx, created.ID, time.Hour, now)
	require.NoError(t, err)
	edit := webhook.Subscription{ID: created.ID, Events: []string{"*"}, URL: "https://example.com/other",
		Headers: map[string]string{"X-Team": "payments"}}
	ip := &interposer{Records: b, hook: func() {
		_, err := direct.RotateSecret(ctx, created.ID, time.Hour, now)
		require.NoError(t, err)
	}}
	_, err = webhook.NewStore(ip).Update(ctx, edit, now)
	require.NoError(t, err, "the client sent no previous_secret")
	require.Equal(t, map[string]string{"X-Team": "payments"}, edit.Headers, "the caller's headers are not touched")
}

// raceSetup opens a memory store holding one subscription and returns the
// backend, a store over it, the subscription and the test's clock reading.
func raceSetup(t *testing.T) (backend.Backend, *webhook.Store, *webhook.Subscription, time.Time) {
	t.Helper()
	b, err := backend.Open(t.Context(), "memory:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	direct := webhook.NewStore(b)
	created, err := direct.Create(t.Context(), webhook.Subscription{Events: []string{"*"}, URL: "https://example.com/hook"}, now)
	require.NoError(t, err)
	return b, direct, created, now
}
