package events

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"conveyor"
	"conveyor/backend/memory"

	"github.com/stretchr/testify/require"
)

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, typ string
		want         bool
	}{
		{"*", "conveyor.job.failed", true},
		{"**", "a", true},
		{"conveyor.job.*", "conveyor.job.failed", true},
		{"conveyor.job.*", "conveyor.job", false},
		{"conveyor.job.*", "conveyor.job.failed.twice", false},
		{"conveyor.**", "conveyor.job.failed", true},
		{"conveyor.*.failed", "conveyor.job.failed", true},
		{"doc.created", "doc.created", true},
		{"doc.created", "doc.deleted", false},
		{"doc", "doc.created", false},
	}
	for _, c := range cases {
		require.Equal(t, c.want, Match(c.pattern, c.typ), "%s ~ %s", c.pattern, c.typ)
	}
	for _, bad := range []string{"", "a..b", "a.**.b", "a b", "**x"} {
		require.ErrorIs(t, ValidPattern(bad), ErrInvalid, bad)
	}
}

func TestValidate(t *testing.T) {
	ev, err := New("app", "doc.created", "doc-1", map[string]int{"n": 1})
	require.NoError(t, err)
	require.Equal(t, SpecVersion, ev.SpecVersion)
	require.NotEmpty(t, ev.ID)
	require.JSONEq(t, `{"n":1}`, string(ev.Data))

	for name, edit := range map[string]func(*Event){
		"specversion": func(e *Event) { e.SpecVersion = "0.3" },
		"id":          func(e *Event) { e.ID = "" },
		"source":      func(e *Event) { e.Source = "" },
		"time":        func(e *Event) { e.Time = time.Time{} },
		"data":        func(e *Event) { e.Data = json.RawMessage("{") },
		"type":        func(e *Event) { e.Type = "doc created" },
	} {
		bad := *ev
		edit(&bad)
		err := bad.Validate()
		require.ErrorIs(t, err, ErrInvalid, name)
		require.ErrorContains(t, err, name)
	}
	_, err = New("app", "x", "", func() {})
	require.ErrorContains(t, err, "data")
}

func TestMemoryBus(t *testing.T) {
	bus := NewMemory()
	var mu sync.Mutex
	var got []string
	rec := func(tag string) Handler {
		return func(_ context.Context, ev *Event) {
			mu.Lock()
			got = append(got, tag+":"+ev.Type)
			mu.Unlock()
		}
	}
	cancelJobs, err := bus.Subscribe("conveyor.job.*", rec("jobs"))
	require.NoError(t, err)
	_, err = bus.Subscribe("*", rec("all"))
	require.NoError(t, err)
	_, err = bus.Subscribe("a..b", rec("bad"))
	require.ErrorIs(t, err, ErrInvalid)

	for _, typ := range []string{"conveyor.job.failed", "doc.created"} {
		ev, err := New("test", typ, "", nil)
		require.NoError(t, err)
		require.NoError(t, bus.Publish(context.Background(), ev))
	}
	cancelJobs()
	ev, _ := New("test", "conveyor.job.completed", "", nil)
	require.NoError(t, bus.Publish(context.Background(), ev))
	require.Equal(t, []string{"jobs:conveyor.job.failed", "all:conveyor.job.failed", "all:doc.created", "all:conveyor.job.completed"}, got)

	require.ErrorIs(t, bus.Publish(context.Background(), &Event{Type: "x"}), ErrInvalid, "an invalid event is refused")
}

// TestWorkerHookPublishesLifecycle runs a real worker on the memory backend
// and checks the CloudEvents it publishes for a job that fails once.
func TestWorkerHookPublishesLifecycle(t *testing.T) {
	ctx := context.Background()
	b, err := memory.New(ctx, memory.Config{})
	require.NoError(t, err)
	defer b.Close()
	bus := NewMemory()
	evs := make(chan *Event, 16)
	_, err = bus.Subscribe("conveyor.job.*", func(_ context.Context, ev *Event) { evs <- ev })
	require.NoError(t, err)

	ws := conveyor.NewWorkers()
	calls := 0
	require.NoError(t, ws.Handle("flaky", conveyor.HandlerFunc(func(ctx context.Context, job *conveyor.JobRecord) (json.RawMessage, error) {
		calls++
		if calls == 1 {
			return nil, fmt.Errorf("test failure: %w", conveyor.RetryAfter(time.Millisecond))
		}
		return json.RawMessage(`{"ok":true}`), nil
	}), nil))
	hook, stopHook := WorkerHook(bus, func(err error) { t.Error(err) })
	defer stopHook()
	w, err := conveyor.NewWorker(b, ws, conveyor.WorkerConfig{OnJobEvent: hook, PollInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, w.Start(ctx))
	defer w.Stop(ctx)
	cl, err := conveyor.NewClient(b, conveyor.ClientConfig{})
	require.NoError(t, err)
	res, err := cl.Enqueue(ctx, "flaky", map[string]int{}, &conveyor.EnqueueOptions{Tags: []string{"t1"}})
	require.NoError(t, err)

	var types []string
	var last *Event
	for len(types) < 4 {
		select {
		case ev := <-evs:
			require.Equal(t, res.ID, ev.Subject)
			require.Equal(t, JobEventSource, ev.Source)
			types = append(types, ev.Type)
			last = ev
			if ev.Type == conveyor.EventJobRetrying {
				var d JobData
				require.NoError(t, json.Unmarshal(ev.Data, &d))
				require.Equal(t, "test failure: retry after 1ms", d.Error.Message)
				require.NotNil(t, d.RunAt)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("events so far: %v", types)
		}
	}
	require.Equal(t, []string{conveyor.EventJobStarted, conveyor.EventJobRetrying, conveyor.EventJobStarted, conveyor.EventJobCompleted}, types)
	var d JobData
	require.NoError(t, json.Unmarshal(last.Data, &d))
	require.Equal(t, JobData{ID: res.ID, Kind: "flaky", Queue: "default", Attempt: 2, MaxAttempts: 25, Tags: []string{"t1"},
		Result: json.RawMessage(`{"ok":true}`), DurationMS: d.DurationMS}, d)
}

func TestWorkerHookNeverBlocksTheWorker(t *testing.T) {
	bus := NewMemory()
	release := make(chan struct{})
	_, err := bus.Subscribe("**", func(context.Context, *Event) { <-release })
	require.NoError(t, err)
	var dropped int
	hook, stop := WorkerHook(bus, func(error) { dropped++ })
	job := &conveyor.JobRecord{ID: "j", Kind: "k", Queue: "q"}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range hookBuffer + 10 { // the subscriber is stuck: the queue fills, then drops
			hook(conveyor.JobEvent{Type: conveyor.EventJobStarted, Job: job})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the hook blocked on a stuck subscriber")
	}
	require.GreaterOrEqual(t, dropped, 9)
	close(release)
	stop()
}

func TestAPanickingSubscriberIsContained(t *testing.T) {
	bus := NewMemory()
	_, _ = bus.Subscribe("**", func(context.Context, *Event) { panic("boom") })
	got := 0
	_, _ = bus.Subscribe("**", func(context.Context, *Event) { got++ })
	ev, _ := New("app", "doc.created", "", nil)
	err := bus.Publish(context.Background(), ev)
	require.ErrorContains(t, err, "a subscriber panicked on doc.created: boom")
	require.Equal(t, 1, got, "the other subscriber still ran")
}

// TestValidateRefusesDataInInvalidUTF8: webhook deliveries carry event data
// as job args, which every backend must be able to store.
func TestValidateRefusesDataInInvalidUTF8(t *testing.T) {
	t.Parallel()
	ev, err := New("test", "doc.created", "", "ok")
	require.NoError(t, err)
	ev.Data = []byte("\"caf\xe9\"")
	require.ErrorIs(t, ev.Validate(), ErrInvalid)
}
