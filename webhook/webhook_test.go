package webhook

import (
	"context"
	"encoding/json"
	"io"
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

	"github.com/stretchr/testify/require"
)

// The Standard Webhooks specification's published test vector.
const (
	vecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vecID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vecTS     = 1614265330
	vecBody   = `{"test": 2432232314}`
	vecSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignMatchesTheSpecificationVector(t *testing.T) {
	sig, err := Sign(vecSecret, vecID, time.Unix(vecTS, 0), []byte(vecBody))
	require.NoError(t, err)
	require.Equal(t, vecSig, sig)
}

func TestVerify(t *testing.T) {
	at := time.Unix(vecTS, 0)
	h := http.Header{}
	h.Set(HeaderID, vecID)
	h.Set(HeaderTimestamp, "1614265330")
	h.Set(HeaderSignature, "v1,bm9wZQ== "+vecSig) // a rotated key's signature first
	require.NoError(t, Verify(vecSecret, h, []byte(vecBody), at, 5*time.Minute))

	require.ErrorIs(t, Verify(vecSecret, h, []byte(`{"test": 1}`), at, 5*time.Minute), ErrSignature, "tampered body")
	require.ErrorIs(t, Verify(NewSecret(), h, []byte(vecBody), at, 5*time.Minute), ErrSignature, "other secret")
	require.ErrorContains(t, Verify(vecSecret, h, []byte(vecBody), at.Add(time.Hour), 5*time.Minute), "more than 5m0s from now")
	h.Del(HeaderID)
	require.ErrorContains(t, Verify(vecSecret, h, []byte(vecBody), at, 5*time.Minute), "missing")
	require.ErrorIs(t, Verify("nope", h, nil, at, time.Minute), ErrInvalid)
}

func TestValidate(t *testing.T) {
	ok := Subscription{Events: []string{"conveyor.job.*"}, URL: "https://example.com/hook"}
	require.NoError(t, ok.Validate())
	for want, edit := range map[string]func(*Subscription){
		"give at least one":        func(s *Subscription) { s.Events = nil },
		"pattern":                  func(s *Subscription) { s.Events = []string{"a..b"} },
		"want an absolute http":    func(s *Subscription) { s.URL = "ftp://example.com" },
		"user info is not allowed": func(s *Subscription) { s.URL = "https://u:p@example.com" },
		"method must be":           func(s *Subscription) { s.Method = "GET" },
		"is set by conveyor":       func(s *Subscription) { s.Headers = map[string]string{"webhook-id": "x"} },
		"not a valid header":       func(s *Subscription) { s.Headers = map[string]string{"X-A": "a\r\nb"} },
		"secret must start":        func(s *Subscription) { s.Secret = "abc" },
		"base64 of 24 to 64":       func(s *Subscription) { s.Secret = "whsec_c2hvcnQ=" },
	} {
		s := ok
		edit(&s)
		err := s.Validate()
		require.ErrorIs(t, err, ErrInvalid, want)
		require.ErrorContains(t, err, want)
	}
}

func TestPublic(t *testing.T) {
	for _, a := range []string{"127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0",
		"100.64.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "64:ff9b::a00:1", "224.0.0.1", "255.255.255.255",
		"::127.0.0.1", "::10.0.0.1", "::ffff:0:7f00:1", "fec0::1", "3fff::1", "100::1"} {
		require.False(t, Public(netip.MustParseAddr(a)), a)
	}
	for _, a := range []string{"8.8.8.8", "1.1.1.1", "2606:4700::1111"} {
		require.True(t, Public(netip.MustParseAddr(a)), a)
	}
}

// receiver is a real HTTP server recording what it got and answering with
// the statuses queued in answers (200 once they run out).
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []*http.Request
	bodies  [][]byte
	answers []func(http.ResponseWriter)
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, req)
		r.bodies = append(r.bodies, body)
		var answer func(http.ResponseWriter)
		if len(r.answers) > 0 {
			answer, r.answers = r.answers[0], r.answers[1:]
		}
		r.mu.Unlock()
		if answer != nil {
			answer(w)
			return
		}
		_, _ = w.Write([]byte("thanks"))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

type rig struct {
	b    backend.Backend
	cl   *conveyor.Client
	bus  *events.Memory
	disp *Dispatcher
}

// newRig runs a worker with the delivery kind and a "doomed" kind that
// always fails, publishing lifecycle events on a bus the dispatcher
// listens to.
func newRig(t *testing.T, allowLoopback bool) *rig {
	t.Helper()
	cfg := Config{}
	if allowLoopback {
		cfg.AllowNets = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}
	return newRigWithConfig(t, cfg)
}

// newRigWithConfig is newRig with the delivery kind's whole Config.
func newRigWithConfig(t *testing.T, cfg Config) *rig {
	t.Helper()
	ctx := context.Background()
	b, err := memory.New(ctx, memory.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	cl, err := conveyor.NewClient(b, conveyor.ClientConfig{})
	require.NoError(t, err)
	bus := events.NewMemory()
	disp := NewDispatcher(cl, DispatcherConfig{Refresh: time.Nanosecond})
	_, err = disp.Attach(bus)
	require.NoError(t, err)

	ws := conveyor.NewWorkers()
	require.NoError(t, Register(ws, b, cfg))
	require.NoError(t, ws.Handle("doomed", conveyor.HandlerFunc(func(context.Context, *conveyor.JobRecord) (json.RawMessage, error) {
		return nil, conveyor.NoRetry(errString("boom"))
	}), nil))
	hook, stopHook := events.WorkerHook(bus, func(err error) { t.Error(err) })
	t.Cleanup(stopHook)
	w, err := conveyor.NewWorker(b, ws, conveyor.WorkerConfig{PollInterval: 20 * time.Millisecond, OnJobEvent: hook})
	require.NoError(t, err)
	require.NoError(t, w.Start(ctx))
	t.Cleanup(func() { _ = w.Stop(ctx) })
	return &rig{b: b, cl: cl, bus: bus, disp: disp}
}

type errString string

func (e errString) Error() string { return string(e) }

func (r *rig) subscribe(t *testing.T, s Subscription) *Subscription {
	t.Helper()
	sub, err := NewStore(r.b).Create(context.Background(), s, time.Now())
	require.NoError(t, err)
	return sub
}

// deliveries waits for n delivery jobs to reach a final state and returns
// them, oldest first.
func (r *rig) deliveries(t *testing.T, n int) []*conveyor.JobRecord {
	t.Helper()
	var jobs []*conveyor.JobRecord
	require.Eventually(t, func() bool {
		res, err := r.cl.List(context.Background(), &conveyor.ListParams{Kind: Kind, States: []conveyor.JobState{conveyor.StateCompleted, conveyor.StateFailed, conveyor.StateCancelled}})
		require.NoError(t, err)
		jobs = res.Jobs
		return len(jobs) >= n
	}, 10*time.Second, 10*time.Millisecond)
	require.Len(t, jobs, n)
	for i, j := 0, len(jobs)-1; i < j; i, j = i+1, j-1 {
		jobs[i], jobs[j] = jobs[j], jobs[i]
	}
	return jobs
}

func TestDeliversSignedEventsOfMatchingSubscriptions(t *testing.T) {
	r := newRig(t, true)
	rec := newReceiver(t)
	sub := r.subscribe(t, Subscription{Events: []string{"conveyor.job.failed"}, Kind: "doomed", URL: rec.URL + "/hook",
		Headers: map[string]string{"X-Team": "ops"}})
	other := r.subscribe(t, Subscription{Events: []string{"conveyor.job.failed"}, Kind: "other", URL: rec.URL + "/never"})
	docs := r.subscribe(t, Subscription{Events: []string{"doc.**"}, URL: rec.URL + "/docs", Method: "PUT"})
	require.NotEmpty(t, sub.Secret)
	require.NotEqual(t, sub.Secret, other.Secret)

	ctx := context.Background()
	res, err := r.cl.Enqueue(ctx, "doomed", map[string]int{}, nil)
	require.NoError(t, err)
	ev, err := events.New("app", "doc.page.created", "page-1", map[string]string{"title": "<b>hi</b>"})
	require.NoError(t, err)
	require.NoError(t, r.bus.Publish(ctx, ev))

	jobs := r.deliveries(t, 2)
	for _, j := range jobs {
		require.Equal(t, conveyor.StateCompleted, j.State, "errors: %v", j.Errors)
		var dr DeliveryResult
		require.NoError(t, json.Unmarshal(j.Result, &dr))
		require.Equal(t, 200, dr.Status)
		require.Equal(t, "thanks", dr.BodyExcerpt)
	}
	require.Equal(t, 2, rec.count(), "the other kind's subscription got nothing")

	rec.mu.Lock()
	defer rec.mu.Unlock()
	byPath := map[string]int{}
	for i, req := range rec.got {
		byPath[req.URL.Path] = i
	}
	hi := byPath["/hook"]
	req, body := rec.got[hi], rec.bodies[hi]
	require.Equal(t, http.MethodPost, req.Method)
	require.Equal(t, "ops", req.Header.Get("X-Team"))
	require.Equal(t, "application/json", req.Header.Get("Content-Type"))
	require.NoError(t, Verify(sub.Secret, req.Header, body, time.Now(), time.Minute))
	require.ErrorIs(t, Verify(docs.Secret, req.Header, body, time.Now(), time.Minute), ErrSignature)
	var got events.Event
	require.NoError(t, json.Unmarshal(body, &got))
	require.Equal(t, conveyor.EventJobFailed, got.Type)
	require.Equal(t, res.ID, got.Subject)
	require.Equal(t, got.ID, req.Header.Get(HeaderID))

	di := byPath["/docs"]
	require.Equal(t, http.MethodPut, rec.got[di].Method)
	require.NoError(t, Verify(docs.Secret, rec.got[di].Header, rec.bodies[di], time.Now(), time.Minute))
	require.Contains(t, string(rec.bodies[di]), `"type":"doc.page.created"`)

	// Republishing the same event does not deliver it again.
	out, err := r.disp.Dispatch(ctx, ev)
	require.NoError(t, err)
	require.Len(t, out, 1)
	require.True(t, out[0].Duplicate)
}

func TestRefusesNonPublicAddresses(t *testing.T) {
	r := newRig(t, false)
	rec := newReceiver(t)
	local := strings.Replace(rec.URL, "127.0.0.1", "localhost", 1) // a name that resolves to loopback
	r.subscribe(t, Subscription{Events: []string{"doc.created"}, URL: rec.URL})
	r.subscribe(t, Subscription{Events: []string{"doc.created"}, URL: local})
	ev, _ := events.New("app", "doc.created", "", nil)
	require.NoError(t, r.bus.Publish(context.Background(), ev))
	for _, j := range r.deliveries(t, 2) {
		require.Equal(t, conveyor.StateFailed, j.State)
		require.Equal(t, 1, j.Attempt, "not retried")
		require.Contains(t, j.Errors[0].Message, "is not a public address")
	}
	require.Zero(t, rec.count())
}

func TestAnswers(t *testing.T) {
	r := newRig(t, true)
	rec := newReceiver(t)
	target := newReceiver(t)
	sub := r.subscribe(t, Subscription{Events: []string{"doc.*"}, URL: rec.URL})
	store := NewStore(r.b)
	publish := func() {
		ev, _ := events.New("app", "doc.created", "", nil)
		require.NoError(t, r.bus.Publish(context.Background(), ev))
	}
	answer := func(status int, header, value, body string) func(http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			if header != "" {
				w.Header().Set(header, value)
			}
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}
	}

	// 503 with Retry-After: retried after it, then 200 completes.
	rec.answers = []func(http.ResponseWriter){answer(503, "Retry-After", "1", "busy, try later")}
	publish()
	j := r.deliveries(t, 1)[0]
	require.Equal(t, conveyor.StateCompleted, j.State)
	require.Equal(t, 2, j.Attempt)
	require.Contains(t, j.Errors[0].Message, "HTTP 503")
	require.Contains(t, j.Errors[0].Message, "busy, try later")

	// 400: failed at once. 302: failed, the redirect is not followed.
	rec.answers = []func(http.ResponseWriter){answer(400, "", "", "bad payload")}
	publish()
	j = r.deliveries(t, 2)[1]
	require.Equal(t, conveyor.StateFailed, j.State)
	require.Equal(t, 1, j.Attempt)
	require.Contains(t, j.Errors[0].Message, "HTTP 400")
	rec.answers = []func(http.ResponseWriter){answer(302, "Location", target.URL, "")}
	publish()
	j = r.deliveries(t, 3)[2]
	require.Equal(t, conveyor.StateFailed, j.State)
	require.Contains(t, j.Errors[0].Message, "not followed")
	require.Zero(t, target.count())

	// 410: the job is cancelled and the subscription disabled; later
	// events are not dispatched to it.
	rec.answers = []func(http.ResponseWriter){answer(410, "", "", "")}
	publish()
	j = r.deliveries(t, 4)[3]
	require.Equal(t, conveyor.StateCancelled, j.State)
	got, err := store.Get(context.Background(), sub.ID)
	require.NoError(t, err)
	require.True(t, got.Disabled)
	require.Contains(t, got.DisabledReason, "410 Gone")
	ev, _ := events.New("app", "doc.created", "", nil)
	out, err := r.disp.Dispatch(context.Background(), ev)
	require.NoError(t, err)
	require.Empty(t, out, "a disabled subscription gets no delivery")
}

// TestDeliveryOfADeletedSubscriptionIsCancelled queues a delivery on a
// queue no worker serves yet, deletes the subscription, then lets a worker
// take the delivery.
func TestDeliveryOfADeletedSubscriptionIsCancelled(t *testing.T) {
	r := newRig(t, true)
	rec := newReceiver(t)
	sub := r.subscribe(t, Subscription{Events: []string{"doc.*"}, URL: rec.URL})
	parked := NewDispatcher(r.cl, DispatcherConfig{Queue: "parked"})
	ev, _ := events.New("app", "doc.created", "", nil)
	out, err := parked.Dispatch(context.Background(), ev)
	require.NoError(t, err)
	require.Len(t, out, 1)
	require.NoError(t, NewStore(r.b).Delete(context.Background(), sub.ID))

	ws := conveyor.NewWorkers()
	require.NoError(t, Register(ws, r.b, Config{AllowNets: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}))
	w, err := conveyor.NewWorker(r.b, ws, conveyor.WorkerConfig{Queues: map[string]int{"parked": 1}, PollInterval: 20 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, w.Start(context.Background()))
	defer w.Stop(context.Background())
	j := r.deliveries(t, 1)[0]
	require.Equal(t, conveyor.StateCancelled, j.State)
	require.Contains(t, j.Errors[len(j.Errors)-1].Message, "was deleted")
	require.Zero(t, rec.count())
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"120":                           2 * time.Minute,
		"9223372037":                    time.Hour, // would overflow: capped
		"Thu, 01 Jan 2026 00:00:30 GMT": 30 * time.Second,
	} {
		d, ok := retryAfter(v, now, time.Hour)
		require.True(t, ok, v)
		require.Equal(t, want, d, v)
	}
	for _, v := range []string{"", "0", "-5", "soon", "Wed, 31 Dec 2025 23:00:00 GMT"} {
		_, ok := retryAfter(v, now, time.Hour)
		require.False(t, ok, "%q means the retry policy's backoff", v)
	}
}

// steppingClock moves a second forward at every reading.
type steppingClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *steppingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// TestSignatureAndTimestampAgree: the header carries the instant that was
// signed, even when the clock moves between readings.
func TestSignatureAndTimestampAgree(t *testing.T) {
	ctx := context.Background()
	b, err := memory.New(ctx, memory.Config{})
	require.NoError(t, err)
	defer b.Close()
	cl, _ := conveyor.NewClient(b, conveyor.ClientConfig{})
	rec := newReceiver(t)
	sub, err := NewStore(b).Create(ctx, Subscription{Events: []string{"*"}, URL: rec.URL}, time.Now())
	require.NoError(t, err)
	ws := conveyor.NewWorkers()
	require.NoError(t, Register(ws, b, Config{AllowNets: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Clock: &steppingClock{t: time.Now()}}))
	ev, _ := events.New("app", "doc.created", "", nil)
	_, err = NewDispatcher(cl, DispatcherConfig{}).Dispatch(ctx, ev)
	require.NoError(t, err)
	res, err := cl.List(ctx, &conveyor.ListParams{Kind: Kind})
	require.NoError(t, err)
	_, err = ws.RunNow(ctx, Kind, res.Jobs[0].Args)
	require.NoError(t, err)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Len(t, rec.got, 1)
	require.NoError(t, Verify(sub.Secret, rec.got[0].Header, rec.bodies[0], time.Now(), time.Minute))
}

func TestErrorsDoNotShowTheURLsQuery(t *testing.T) {
	r := newRig(t, false)
	r.subscribe(t, Subscription{Events: []string{"doc.*"}, URL: "http://127.0.0.1:1/hook?token=SEKRET"})
	ev, _ := events.New("app", "doc.created", "", nil)
	require.NoError(t, r.bus.Publish(context.Background(), ev))
	j := r.deliveries(t, 1)[0]
	require.Equal(t, conveyor.StateFailed, j.State)
	require.Contains(t, j.Errors[0].Message, "http://127.0.0.1:1/hook?…")
	require.NotContains(t, j.Errors[0].Message, "SEKRET")
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	b, err := memory.New(ctx, memory.Config{})
	require.NoError(t, err)
	defer b.Close()
	st := NewStore(b)
	s, err := st.Create(ctx, Subscription{Events: []string{"*"}, URL: "https://example.com"}, time.Now())
	require.NoError(t, err)
	require.NotEmpty(t, s.ID)
	require.True(t, strings.HasPrefix(s.Secret, "whsec_"))

	upd := *s
	upd.Secret = ""
	upd.URL = "https://example.org"
	got, err := st.Update(ctx, upd, time.Now())
	require.NoError(t, err)
	require.Equal(t, s.Secret, got.Secret, "an empty secret keeps the stored one")
	list, err := st.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "https://example.org", list[0].URL)

	_, err = st.Create(ctx, Subscription{URL: "https://example.com"}, time.Now())
	require.ErrorIs(t, err, ErrInvalid)
	upd.ID = "missing"
	_, err = st.Update(ctx, upd, time.Now())
	require.ErrorIs(t, err, backend.ErrNotFound)
	require.NoError(t, st.Delete(ctx, s.ID))
	require.ErrorIs(t, st.Delete(ctx, s.ID), backend.ErrNotFound)

	data, err := json.Marshal(Subscription{ID: "x", Events: []string{"*"}, URL: "https://e.com", Disabled: true})
	require.NoError(t, err)
	require.Contains(t, string(data), `"enabled":false`)
	require.Equal(t, "whsec_MfKQ…", MaskSecret(vecSecret))
}
