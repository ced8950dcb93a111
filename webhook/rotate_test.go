package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"conveyor"
	"conveyor/backend"
	"conveyor/backend/memory"
	"conveyor/events"
	"conveyor/internal/clock"

	"github.com/stretchr/testify/require"
)

func newStore(t *testing.T) (*Store, backend.Backend) {
	t.Helper()
	b, err := memory.New(context.Background(), memory.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	return NewStore(b), b
}

// subOf is RotateSecret's answer without the version.
func subOf(v *Versioned, err error) (*Subscription, error) {
	if v == nil {
		return nil, err
	}
	return v.Subscription, err
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestRotateSecret(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	s, err := st.Create(ctx, Subscription{Events: []string{"*"}, URL: "https://example.com"}, t0)
	require.NoError(t, err)
	first := s.Secret

	v, err := st.RotateSecret(ctx, s.ID, time.Hour, t0)
	require.NoError(t, err)
	rot := v.Subscription
	require.True(t, strings.HasPrefix(rot.Secret, "whsec_"))
	require.NotEqual(t, first, rot.Secret, "a new secret, in clear")
	require.Equal(t, first, rot.PreviousSecret)
	require.Equal(t, t0.Add(time.Hour), rot.PreviousSecretExpiresAt)
	stored, err := st.GetVersioned(ctx, s.ID)
	require.NoError(t, err)
	require.Equal(t, v, stored, "stored as answered, with the record's new version")
	require.Equal(t, int64(2), v.Version)
	second := rot.Secret

	// Shown to people: both secrets masked, in Go and in JSON.
	red := stored.Subscription.Redacted()
	require.Equal(t, MaskSecret(second), red.Secret)
	require.Equal(t, MaskSecret(first), red.PreviousSecret)
	data, err := json.Marshal(red)
	require.NoError(t, err)
	require.NotContains(t, string(data), first[10:])
	require.NotContains(t, string(data), second[10:])
	require.Contains(t, string(data), `"previous_secret":"`+MaskSecret(first)+`"`)
	require.Contains(t, string(data), `"previous_secret_expires_at":"2026-03-01T13:00:00Z"`)
	require.Empty(t, (&Subscription{Secret: first}).Redacted().PreviousSecret, "no previous secret, none shown")

	// Rotating again during the grace period: only one previous secret is
	// kept, the one that was current; the first stops signing at once.
	rot, err = subOf(st.RotateSecret(ctx, s.ID, 2*time.Hour, t0.Add(time.Minute)))
	require.NoError(t, err)
	require.Equal(t, second, rot.PreviousSecret)
	require.Equal(t, t0.Add(time.Minute+2*time.Hour), rot.PreviousSecretExpiresAt)
	require.NotContains(t, rot.signingSecrets(t0.Add(2*time.Minute)), first)

	// Grace 0 drops the old secret at once.
	third := rot.Secret
	rot, err = subOf(st.RotateSecret(ctx, s.ID, 0, t0.Add(2*time.Minute)))
	require.NoError(t, err)
	require.NotEqual(t, third, rot.Secret)
	require.Empty(t, rot.PreviousSecret)
	require.True(t, rot.PreviousSecretExpiresAt.IsZero())
	require.Equal(t, []string{rot.Secret}, rot.signingSecrets(t0.Add(2*time.Minute)))
	data, _ = json.Marshal(rot)
	require.NotContains(t, string(data), "previous_secret")
}

func TestRotateSecretRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	s, err := st.Create(ctx, Subscription{Events: []string{"*"}, URL: "https://example.com"}, t0)
	require.NoError(t, err)
	for _, grace := range []time.Duration{-time.Second, MaxRotationGrace + time.Second, 1000 * 24 * time.Hour} {
		_, err := subOf(st.RotateSecret(ctx, s.ID, grace, t0))
		require.ErrorIs(t, err, ErrInvalid, grace)
		require.ErrorContains(t, err, "grace period", grace)
		require.ErrorContains(t, err, "out of range", grace)
	}
	_, err = subOf(st.RotateSecret(ctx, s.ID, MaxRotationGrace, t0))
	require.NoError(t, err, "30 days is allowed")
	_, err = subOf(st.RotateSecret(ctx, "missing", time.Hour, t0))
	require.ErrorIs(t, err, backend.ErrNotFound)
}

func TestPreviousSecretExpiresAtItsDeadline(t *testing.T) {
	s := Subscription{Secret: NewSecret(), PreviousSecret: NewSecret(), PreviousSecretExpiresAt: t0}
	require.Equal(t, []string{s.Secret, s.PreviousSecret}, s.signingSecrets(t0.Add(-time.Nanosecond)))
	require.Equal(t, []string{s.Secret}, s.signingSecrets(t0), "expired at the deadline itself")
	require.Equal(t, []string{s.Secret}, s.signingSecrets(t0.Add(time.Hour)))
}

func TestUpdateKeepsThePreviousSecret(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	_, err := st.Create(ctx, Subscription{Events: []string{"*"}, URL: "https://example.com", PreviousSecret: NewSecret()}, t0)
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "previous_secret")
	s, err := st.Create(ctx, Subscription{Events: []string{"*"}, URL: "https://example.com"}, t0)
	require.NoError(t, err)
	rot, err := subOf(st.RotateSecret(ctx, s.ID, time.Hour, t0))
	require.NoError(t, err)

	// Omitted, or sent back as shown (masked): kept.
	omitted := *rot.Redacted()
	omitted.PreviousSecret, omitted.PreviousSecretExpiresAt = "", time.Time{}
	omitted.URL = "https://example.org"
	got, err := st.Update(ctx, omitted, t0.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, s.Secret, got.PreviousSecret)
	require.Equal(t, rot.Secret, got.Secret)
	require.Equal(t, t0.Add(time.Hour), got.PreviousSecretExpiresAt)
	got, err = st.Update(ctx, *rot.Redacted(), t0.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, s.Secret, got.PreviousSecret)
	require.Equal(t, "https://example.com", got.URL)

	// Set by a client: refused, naming the field; nothing stored.
	forged := *rot.Redacted()
	forged.PreviousSecret = NewSecret()
	_, err = st.Update(ctx, forged, t0.Add(time.Minute))
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "previous_secret is set by rotating")
	longer := *rot.Redacted()
	longer.PreviousSecretExpiresAt = t0.Add(24 * time.Hour)
	_, err = st.Update(ctx, longer, t0.Add(time.Minute))
	require.ErrorContains(t, err, "previous_secret_expires_at is set by rotating")
	stored, err := st.Get(ctx, s.ID)
	require.NoError(t, err)
	require.Equal(t, s.Secret, stored.PreviousSecret)
	require.Equal(t, t0.Add(time.Hour), stored.PreviousSecretExpiresAt)

	// An update after the grace period drops the expired secret.
	got, err = st.Update(ctx, *rot.Redacted(), t0.Add(time.Hour))
	require.NoError(t, err)
	require.Empty(t, got.PreviousSecret)
	require.True(t, got.PreviousSecretExpiresAt.IsZero())
}

// racingRecords lets a concurrent edit land between the read and the write
// of the first RecordPut it sees.
type racingRecords struct {
	backend.Records
	race func()
	puts int
}

func (r *racingRecords) RecordPut(ctx context.Context, p *backend.RecordPutParams) (*backend.Record, error) {
	if r.puts == 0 {
		r.race()
	}
	r.puts++
	return r.Records.RecordPut(ctx, p)
}

func TestRotateSecretDoesNotLoseAConcurrentUpdate(t *testing.T) {
	ctx := context.Background()
	plain, b := newStore(t)
	s, err := plain.Create(ctx, Subscription{Events: []string{"*"}, URL: "https://example.com"}, t0)
	require.NoError(t, err)
	rr := &racingRecords{Records: b}
	rr.race = func() {
		edit := *s
		edit.URL = "https://example.org/edited"
		_, err := plain.Update(ctx, edit, t0)
		require.NoError(t, err)
	}
	rot, err := subOf(NewStore(rr).RotateSecret(ctx, s.ID, time.Hour, t0))
	require.NoError(t, err)
	require.Equal(t, 2, rr.puts, "the conflicting write was redone on the fresh record")
	stored, err := plain.Get(ctx, s.ID)
	require.NoError(t, err)
	require.Equal(t, "https://example.org/edited", stored.URL, "the concurrent edit is kept")
	require.Equal(t, rot.Secret, stored.Secret)
	require.Equal(t, s.Secret, stored.PreviousSecret)
}

func TestSubscriptionsLogWithoutSecrets(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	s := Subscription{ID: "w1", URL: "https://example.com/h?token=T0KEN", Secret: NewSecret(), PreviousSecret: NewSecret(),
		Headers: map[string]string{"Authorization": "Bearer H34DER"}}
	log.Info("x", "webhook", s, "ptr", &s)
	out := buf.String()
	require.Contains(t, out, `"id":"w1"`)
	for _, secret := range []string{s.Secret[6:], s.PreviousSecret[6:], "T0KEN", "H34DER"} {
		require.NotContains(t, out, secret)
	}
}

// keyReceiver is a receiver holding one secret, as a real one would: it
// answers 200 to deliveries that verify with it, 401 to the others.
type keyReceiver struct {
	*httptest.Server
	clock *clock.Fake
	mu    sync.Mutex
	key   string
	got   []http.Header // headers received
	last  []byte        // the last body received
	// beforeAnswer, when set, runs once on the next request.
	beforeAnswer func(http.ResponseWriter) bool
}

func newKeyReceiver(t *testing.T, c *clock.Fake) *keyReceiver {
	kr := &keyReceiver{clock: c}
	kr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		kr.mu.Lock()
		key, hook := kr.key, kr.beforeAnswer
		kr.beforeAnswer = nil
		kr.got, kr.last = append(kr.got, r.Header), body
		kr.mu.Unlock()
		if hook != nil && hook(w) {
			return
		}
		if err := Verify(key, r.Header, body, kr.clock.Now(), 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte("verified"))
	}))
	t.Cleanup(kr.Close)
	return kr
}

func (kr *keyReceiver) holds(key string) {
	kr.mu.Lock()
	kr.key = key
	kr.mu.Unlock()
}

// lastWith returns the last request's headers and body, its signature
// header replaced by sig.
func (kr *keyReceiver) lastWith(sig string) (http.Header, []byte) {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	h := kr.got[len(kr.got)-1].Clone()
	h.Set(HeaderSignature, sig)
	return h, kr.last
}

func (kr *keyReceiver) lastSig() string {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	return kr.got[len(kr.got)-1].Get(HeaderSignature)
}

// TestRotationEndToEnd delivers through a real HTTP receiver that holds one
// secret: during the grace period a receiver holding only the old secret
// and one holding only the new one both verify; after it, only the new one.
func TestRotationEndToEnd(t *testing.T) {
	ctx := context.Background()
	fake := clock.NewFake(t0)
	st, b := newStore(t)
	cl, err := conveyor.NewClient(b, conveyor.ClientConfig{})
	require.NoError(t, err)
	kr := newKeyReceiver(t, fake)
	sub, err := st.Create(ctx, Subscription{Events: []string{"*"}, URL: kr.URL}, fake.Now())
	require.NoError(t, err)
	old := sub.Secret
	ws := conveyor.NewWorkers()
	require.NoError(t, Register(ws, b, Config{AllowNets: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Clock: fake}))
	disp := NewDispatcher(cl, DispatcherConfig{Refresh: time.Nanosecond})
	deliver := func() error {
		t.Helper()
		ev, _ := events.New("app", "doc.created", "", nil)
		out, err := disp.Dispatch(ctx, ev)
		require.NoError(t, err)
		require.Len(t, out, 1)
		job, err := cl.Get(ctx, out[0].ID)
		require.NoError(t, err)
		_, err = ws.RunNow(ctx, Kind, job.Args)
		return err
	}

	rot, err := subOf(st.RotateSecret(ctx, sub.ID, time.Hour, fake.Now()))
	require.NoError(t, err)
	fresh := rot.Secret

	fake.Advance(59 * time.Minute)
	kr.holds(old)
	require.NoError(t, deliver(), "a receiver holding only the old secret verifies during the grace period")
	sigs := strings.Fields(kr.lastSig())
	require.Len(t, sigs, 2)
	kr.holds(fresh)
	require.NoError(t, deliver(), "a receiver holding only the new secret verifies too")
	sigs = strings.Fields(kr.lastSig())
	require.Len(t, sigs, 2)
	// New first, then old.
	h, body := kr.lastWith(sigs[0])
	require.NoError(t, Verify(fresh, h, body, fake.Now(), time.Minute))
	h, body = kr.lastWith(sigs[1])
	require.NoError(t, Verify(old, h, body, fake.Now(), time.Minute))

	fake.Set(t0.Add(time.Hour)) // the grace period ends
	kr.holds(old)
	err = deliver()
	require.Error(t, err, "the old secret no longer signs")
	require.Contains(t, err.Error(), "HTTP 401")
	require.Len(t, strings.Fields(kr.lastSig()), 1)
	kr.holds(fresh)
	require.NoError(t, deliver())
}

// TestEveryAttemptSignsWithTheSecretsValidThen runs a delivery on a real
// worker: the first attempt, inside the grace period, carries both
// signatures; the receiver asks for a retry as the grace period ends, and
// the retry is signed again, with the new secret only.
func TestEveryAttemptSignsWithTheSecretsValidThen(t *testing.T) {
	ctx := context.Background()
	fake := clock.NewFake(t0)
	r := newRigWithConfig(t, Config{AllowNets: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Clock: fake})
	st := NewStore(r.b)
	kr := newKeyReceiver(t, fake)
	sub := r.subscribe(t, Subscription{Events: []string{"doc.*"}, URL: kr.URL})
	rot, err := subOf(st.RotateSecret(ctx, sub.ID, time.Hour, fake.Now()))
	require.NoError(t, err)
	kr.holds(rot.Secret)
	kr.beforeAnswer = func(w http.ResponseWriter) bool {
		fake.Set(t0.Add(time.Hour))
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	}
	ev, _ := events.New("app", "doc.created", "", nil)
	require.NoError(t, r.bus.Publish(ctx, ev))
	j := r.deliveries(t, 1)[0]
	require.Equal(t, conveyor.StateCompleted, j.State, "errors: %v", j.Errors)
	require.Equal(t, 2, j.Attempt)
	kr.mu.Lock()
	defer kr.mu.Unlock()
	require.Len(t, kr.got, 2)
	require.Len(t, strings.Fields(kr.got[0].Get(HeaderSignature)), 2, "first attempt: new and old")
	require.Len(t, strings.Fields(kr.got[1].Get(HeaderSignature)), 1, "retry after the grace period: new only")
	require.Equal(t, kr.got[0].Get(HeaderID), kr.got[1].Get(HeaderID))
	require.NotEqual(t, kr.got[0].Get(HeaderTimestamp), kr.got[1].Get(HeaderTimestamp), "re-signed with a fresh timestamp")
}

// TestRedactedAtLeavesOutAnExpiredPreviousSecret: once its grace period is
// over, the previous secret is no longer shown as signing.
func TestRedactedAtLeavesOutAnExpiredPreviousSecret(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	s := &Subscription{ID: "w", Secret: NewSecret(), PreviousSecret: NewSecret(), PreviousSecretExpiresAt: end}
	during := s.RedactedAt(end.Add(-time.Nanosecond))
	require.Equal(t, MaskSecret(s.PreviousSecret), during.PreviousSecret)
	require.Equal(t, end, during.PreviousSecretExpiresAt)
	after := s.RedactedAt(end)
	require.Empty(t, after.PreviousSecret)
	require.True(t, after.PreviousSecretExpiresAt.IsZero())
	require.Equal(t, MaskSecret(s.Secret), after.Secret)
	require.NotEmpty(t, s.PreviousSecret, "the subscription itself is not changed")
}
