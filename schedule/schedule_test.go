package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"conveyor"
	"conveyor/backend"
	"conveyor/backend/memory"
	"conveyor/backend/sqlite"
	"conveyor/internal/clock"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 5, 10, 0, 30, 0, time.UTC)

type fixture struct {
	b     backend.Backend
	clk   *clock.Fake
	cl    *conveyor.Client
	store *Store
}

func newFixture(t *testing.T, b backend.Backend) *fixture {
	t.Helper()
	if b == nil {
		mb, err := memory.New(context.Background(), memory.Config{})
		require.NoError(t, err)
		t.Cleanup(func() { mb.Close() })
		b = mb
	}
	clk := clock.NewFake(t0)
	cl, err := conveyor.NewClient(b, conveyor.ClientConfig{Clock: clk})
	require.NoError(t, err)
	return &fixture{b: b, clk: clk, cl: cl, store: NewStore(b)}
}

func (f *fixture) scheduler(t *testing.T, cfg Config) *Scheduler {
	t.Helper()
	cfg.Clock = f.clk
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := New(f.cl, cfg)
	require.NoError(t, err)
	return s
}

func (f *fixture) put(t *testing.T, def Schedule) *Entry {
	t.Helper()
	e, err := f.store.Put(context.Background(), def, f.clk.Now())
	require.NoError(t, err)
	return e
}

// jobs lists the jobs of a kind, oldest first.
func (f *fixture) jobs(t *testing.T, kind string) []*conveyor.JobRecord {
	t.Helper()
	res, err := f.cl.List(context.Background(), &conveyor.ListParams{Kind: kind, Limit: backend.MaxListLimit})
	require.NoError(t, err)
	out := res.Jobs
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// fireTimes reads the fire time out of each job's meta.
func fireTimes(t *testing.T, jobs []*conveyor.JobRecord) []time.Time {
	t.Helper()
	var out []time.Time
	for _, j := range jobs {
		var m struct {
			Schedule string    `json:"schedule"`
			FireTime time.Time `json:"fire_time"`
		}
		require.NoError(t, json.Unmarshal(j.Meta, &m))
		out = append(out, m.FireTime)
	}
	return out
}

func minutes(from time.Time, n int) []time.Time {
	var out []time.Time
	for i := range n {
		out = append(out, from.Add(time.Duration(i)*time.Minute))
	}
	return out
}

func TestValidateNamesTheField(t *testing.T) {
	ok := Schedule{Name: "n", Cron: "* * * * *", Kind: "k"}
	cases := map[string]struct {
		edit func(*Schedule)
		want string
	}{
		"no name":       {func(s *Schedule) { s.Name = "" }, "name must be 1-128"},
		"bad name":      {func(s *Schedule) { s.Name = "a b" }, "may hold only"},
		"no cron":       {func(s *Schedule) { s.Cron = " " }, "cron is required"},
		"bad cron":      {func(s *Schedule) { s.Cron = "61 * * * *" }, `cron "61 * * * *"`},
		"tz in cron":    {func(s *Schedule) { s.Cron = "TZ=UTC * * * * *" }, "timezone field"},
		"bad zone":      {func(s *Schedule) { s.Timezone = "Mars/Olympus" }, `timezone "Mars/Olympus"`},
		"no kind":       {func(s *Schedule) { s.Kind = "" }, "kind"},
		"bad queue":     {func(s *Schedule) { s.Queue = "a queue" }, "queue"},
		"bad args":      {func(s *Schedule) { s.Args = json.RawMessage("{") }, "args are not valid JSON"},
		"neg attempts":  {func(s *Schedule) { s.MaxAttempts = -1 }, "max_attempts"},
		"bad missed":    {func(s *Schedule) { s.Missed = "later" }, "missed must be"},
		"bad limit":     {func(s *Schedule) { s.CatchUpLimit = 5000 }, "catch_up_limit"},
		"bad overlap":   {func(s *Schedule) { s.Overlap = "never" }, "overlap must be"},
		"negative time": {func(s *Schedule) { s.Timeout = -time.Second }, "timeout"},
	}
	require.NoError(t, ok.Validate())
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s := ok
			c.edit(&s)
			err := s.Validate()
			require.ErrorIs(t, err, ErrInvalid)
			require.ErrorContains(t, err, c.want)
		})
	}
	for _, expr := range []string{"*/5 * * * * *", "@every 90s", "@daily", "0 9 * * MON-FRI"} {
		s := ok
		s.Cron = expr
		require.NoError(t, s.Validate(), expr)
	}
}

func TestJSONEnabledDefaultsToTrue(t *testing.T) {
	var s Schedule
	require.NoError(t, json.Unmarshal([]byte(`{"name":"a","cron":"@daily","kind":"k"}`), &s))
	require.False(t, s.Disabled)
	require.NoError(t, json.Unmarshal([]byte(`{"name":"a","cron":"@daily","kind":"k","enabled":false}`), &s))
	require.True(t, s.Disabled)

	e := Entry{Schedule: s, State: State{Since: t0, LastJobID: "j1"}, Version: 3, Revision: 2}
	data, err := json.Marshal(e)
	require.NoError(t, err)
	require.JSONEq(t, `{"name":"a","cron":"@daily","kind":"k","enabled":false,
		"state":{"since":"2026-01-05T10:00:30Z","last_job_id":"j1"},"version":3,"revision":2}`, string(data))
	var back Entry
	require.NoError(t, json.Unmarshal(data, &back))
	require.Equal(t, e, back)
}

func TestStorePutKeepsStateAndDelete(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	e := f.put(t, Schedule{Name: "a", Cron: "*/10 * * * *", Kind: "k"})
	require.Equal(t, t0, e.State.Since)
	require.Equal(t, time.Date(2026, 1, 5, 10, 10, 0, 0, time.UTC), e.State.NextRun)

	// A change of cron keeps the state and recomputes the next run.
	f.clk.Advance(time.Hour)
	e2 := f.put(t, Schedule{Name: "a", Cron: "*/5 * * * *", Kind: "k"})
	require.Equal(t, t0, e2.State.Since)
	require.Equal(t, time.Date(2026, 1, 5, 10, 5, 0, 0, time.UTC), e2.State.NextRun)
	require.Greater(t, e2.Version, e.Version)

	_, err := f.store.Put(ctx, Schedule{Name: "bad", Cron: "nope", Kind: "k"}, t0)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = f.store.Create(ctx, Schedule{Name: "bad", Cron: "nope", Kind: "k"}, t0)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = f.store.Create(ctx, Schedule{Name: "a", Cron: "@daily", Kind: "k"}, t0)
	require.ErrorIs(t, err, backend.ErrConflict)
	require.ErrorContains(t, err, `schedule "a" already exists`)
	c, err := f.store.Create(ctx, Schedule{Name: "b", Cron: "@daily", Kind: "k"}, t0)
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 1, 6, 0, 0, 0, 0, time.UTC), c.State.NextRun)
	require.NoError(t, f.store.Delete(ctx, "b"))

	list, err := f.store.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.NoError(t, f.store.Delete(ctx, "a"))
	require.ErrorIs(t, f.store.Delete(ctx, "a"), backend.ErrNotFound)
	_, err = f.store.Get(ctx, "a")
	require.ErrorIs(t, err, backend.ErrNotFound)
}

func TestStoreRefusesAForeignRecord(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	_, err := f.b.RecordPut(ctx, &backend.RecordPutParams{Namespace: Namespace, Key: "x", Value: json.RawMessage(`[1]`), Now: t0})
	require.NoError(t, err)
	_, err = f.store.List(ctx)
	require.ErrorContains(t, err, `schedule "x": stored record is not a schedule`)
}

func TestFiresOncePerFireTime(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.put(t, Schedule{Name: "tick", Cron: "* * * * *", Kind: "tick", Args: json.RawMessage(`{"n":1}`), Queue: "cron", Priority: 3, Tags: []string{"t"}})
	s := f.scheduler(t, Config{Interval: time.Hour})

	// Nothing is due before the first minute boundary after the start.
	wait := s.pass(ctx)
	require.Empty(t, f.jobs(t, "tick"))
	require.Equal(t, 30*time.Second, wait, "the pass sleeps until the next fire time")
	require.Equal(t, time.Second, f.scheduler(t, Config{}).pass(ctx), "at most Interval, to pick up changes")

	for range 5 {
		f.clk.Advance(time.Minute)
		s.pass(ctx)
		s.pass(ctx) // a second pass at the same time fires nothing more
	}
	jobs := f.jobs(t, "tick")
	require.Equal(t, minutes(time.Date(2026, 1, 5, 10, 1, 0, 0, time.UTC), 5), fireTimes(t, jobs))
	j := jobs[0]
	require.Equal(t, "cron", j.Queue)
	require.Equal(t, 3, j.Priority)
	require.JSONEq(t, `{"n":1}`, string(j.Args))
	require.Equal(t, []string{"t"}, j.Tags)

	e, err := f.store.Get(ctx, "tick")
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 1, 5, 10, 5, 0, 0, time.UTC), e.State.LastRun)
	require.Equal(t, time.Date(2026, 1, 5, 10, 6, 0, 0, time.UTC), e.State.NextRun)
	require.Equal(t, jobs[4].ID, e.State.LastJobID)
}

func TestReplicasFireEachTimeExactlyOnce(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.put(t, Schedule{Name: "r", Cron: "*/10 * * * * *", Kind: "r"})
	var reps []*Scheduler
	for range 4 {
		reps = append(reps, f.scheduler(t, Config{}))
	}
	for range 30 {
		f.clk.Advance(10 * time.Second)
		var wg sync.WaitGroup
		for _, s := range reps {
			wg.Go(func() { s.pass(ctx) })
		}
		wg.Wait()
	}
	got := fireTimes(t, f.jobs(t, "r"))
	require.Len(t, got, 30)
	seen := map[time.Time]bool{}
	for _, ft := range got {
		require.False(t, seen[ft], "fire time %s enqueued twice", ft)
		seen[ft] = true
	}
}

func TestMissedPolicies(t *testing.T) {
	cases := []struct {
		missed Missed
		limit  int
		want   []time.Time
	}{
		// 10:01 .. 10:20 passed while down; now is 10:20:30.
		{MissedSkip, 0, minutes(time.Date(2026, 1, 5, 10, 20, 0, 0, time.UTC), 1)},
		{MissedRunOnce, 0, minutes(time.Date(2026, 1, 5, 10, 20, 0, 0, time.UTC), 1)},
		{MissedCatchUp, 3, minutes(time.Date(2026, 1, 5, 10, 18, 0, 0, time.UTC), 3)},
		{MissedCatchUp, 0, minutes(time.Date(2026, 1, 5, 10, 11, 0, 0, time.UTC), DefaultCatchUpLimit)},
	}
	for _, c := range cases {
		t.Run(string(c.missed), func(t *testing.T) {
			f := newFixture(t, nil)
			f.put(t, Schedule{Name: "m", Cron: "* * * * *", Kind: "m", Missed: c.missed, CatchUpLimit: c.limit})
			s := f.scheduler(t, Config{})
			f.clk.Advance(20 * time.Minute)
			s.pass(context.Background())
			require.Equal(t, c.want, fireTimes(t, f.jobs(t, "m")))
			e, err := f.store.Get(context.Background(), "m")
			require.NoError(t, err)
			require.Equal(t, time.Date(2026, 1, 5, 10, 20, 0, 0, time.UTC), e.State.LastRun, "every due time counts as handled")
		})
	}
}

func TestSkipDropsEverythingBeyondTheGrace(t *testing.T) {
	f := newFixture(t, nil)
	f.put(t, Schedule{Name: "h", Cron: "0 * * * *", Kind: "h"})
	s := f.scheduler(t, Config{MisfireGrace: 10 * time.Minute})
	f.clk.Set(time.Date(2026, 1, 5, 13, 30, 0, 0, time.UTC)) // 11:00, 12:00, 13:00 are all > 10 min late
	s.pass(context.Background())
	require.Empty(t, f.jobs(t, "h"))
	f.clk.Set(time.Date(2026, 1, 5, 14, 5, 0, 0, time.UTC)) // 14:00 is 5 min late: runs
	s.pass(context.Background())
	require.Equal(t, []time.Time{time.Date(2026, 1, 5, 14, 0, 0, 0, time.UTC)}, fireTimes(t, f.jobs(t, "h")))
}

func TestOverlapSkipWaitsForThePreviousRun(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.put(t, Schedule{Name: "o", Cron: "* * * * *", Kind: "o", Overlap: OverlapSkip, Missed: MissedCatchUp})
	s := f.scheduler(t, Config{})
	f.clk.Advance(3 * time.Minute) // 3 due: only the latest runs, the others would overlap it
	s.pass(ctx)
	jobs := f.jobs(t, "o")
	require.Equal(t, minutes(time.Date(2026, 1, 5, 10, 3, 0, 0, time.UTC), 1), fireTimes(t, jobs))

	f.clk.Advance(time.Minute) // the 10:03 job is still queued: 10:04 is dropped
	s.pass(ctx)
	require.Len(t, f.jobs(t, "o"), 1)

	_, err := f.cl.Cancel(ctx, jobs[0].ID) // finished now
	require.NoError(t, err)
	f.clk.Advance(time.Minute)
	s.pass(ctx)
	require.Equal(t, []time.Time{time.Date(2026, 1, 5, 10, 3, 0, 0, time.UTC), time.Date(2026, 1, 5, 10, 5, 0, 0, time.UTC)},
		fireTimes(t, f.jobs(t, "o")))

	// A previous job that was deleted counts as finished.
	require.NoError(t, f.cl.Delete(ctx, f.jobs(t, "o")[1].ID))
	f.clk.Advance(time.Minute)
	s.pass(ctx)
	require.Len(t, f.jobs(t, "o"), 2)
}

func TestDisabledScheduleDoesNotFire(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.put(t, Schedule{Name: "d", Cron: "* * * * *", Kind: "d", Disabled: true})
	s := f.scheduler(t, Config{})
	f.clk.Advance(5 * time.Minute)
	s.pass(ctx)
	require.Empty(t, f.jobs(t, "d"))

	// Enabled again: the fires of the disabled time are missed (skip drops
	// those beyond the grace), the current one runs.
	f.put(t, Schedule{Name: "d", Cron: "* * * * *", Kind: "d"})
	f.clk.Advance(2 * time.Minute)
	s.pass(ctx)
	require.Equal(t, minutes(time.Date(2026, 1, 5, 10, 7, 0, 0, time.UTC), 1), fireTimes(t, f.jobs(t, "d")))
}

func TestTimezone(t *testing.T) {
	f := newFixture(t, nil)
	e := f.put(t, Schedule{Name: "z", Cron: "0 9 * * *", Timezone: "Europe/Paris", Kind: "z"})
	require.Equal(t, time.Date(2026, 1, 6, 8, 0, 0, 0, time.UTC), e.State.NextRun, "09:00 in Paris is 08:00 UTC in winter")
	s := f.scheduler(t, Config{})
	f.clk.Set(time.Date(2026, 1, 6, 8, 0, 1, 0, time.UTC))
	s.pass(context.Background())
	require.Equal(t, []time.Time{time.Date(2026, 1, 6, 8, 0, 0, 0, time.UTC)}, fireTimes(t, f.jobs(t, "z")))
}

func TestDeclaredSchedulesAreStoredAndValidated(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	_, err := New(f.cl, Config{Schedules: []Schedule{{Name: "x", Cron: "bad", Kind: "k"}}})
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "declared schedule 0")
	_, err = New(f.cl, Config{Schedules: []Schedule{{Name: "x", Cron: "@daily", Kind: "k"}, {Name: "x", Cron: "@daily", Kind: "k"}}})
	require.ErrorContains(t, err, `"x" is declared twice`)
	_, err = New(nil, Config{})
	require.Error(t, err)

	f.put(t, Schedule{Name: "x", Cron: "@hourly", Kind: "old"})
	s := f.scheduler(t, Config{Schedules: []Schedule{{Name: "x", Cron: "@daily", Kind: "new"}}, Interval: time.Hour})
	require.NoError(t, s.Start(ctx))
	require.Error(t, s.Start(ctx), "a second Start is refused")
	s.Stop()
	e, err := f.store.Get(ctx, "x")
	require.NoError(t, err)
	require.Equal(t, "new", e.Kind, "the code's definition replaces the stored one")
	require.Equal(t, t0, e.State.Since, "and keeps its state")
}

func TestTrigger(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.put(t, Schedule{Name: "t", Cron: "@daily", Kind: "t", Queue: "q"})
	res, err := Trigger(ctx, f.cl, "t")
	require.NoError(t, err)
	job, err := f.cl.Get(ctx, res.ID)
	require.NoError(t, err)
	require.Equal(t, "q", job.Queue)
	require.JSONEq(t, `{"schedule":"t","trigger":"manual"}`, string(job.Meta))
	e, err := f.store.Get(ctx, "t")
	require.NoError(t, err)
	require.Equal(t, res.ID, e.State.LastJobID)

	_, err = Trigger(ctx, f.cl, "nope")
	require.ErrorIs(t, err, backend.ErrNotFound)
}

// failingEnqueue refuses every enqueue.
type failingEnqueue struct{ backend.Backend }

func (failingEnqueue) JobEnqueue(context.Context, *backend.JobEnqueueParams) (*backend.JobEnqueueResult, error) {
	return nil, errors.New("backend down")
}

func TestFailedEnqueueLeavesTheStateForTheNextPass(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.put(t, Schedule{Name: "f", Cron: "* * * * *", Kind: "f"})
	broken := newFixture(t, failingEnqueue{f.b})
	broken.clk = f.clk
	broken.cl, _ = conveyor.NewClient(broken.b, conveyor.ClientConfig{Clock: f.clk})
	f.clk.Advance(time.Minute)
	_, err := broken.scheduler(t, Config{}).fire(ctx, mustGet(t, f.store, "f"))
	require.ErrorContains(t, err, "backend down")
	st := mustGet(t, f.store, "f").State
	require.Equal(t, []time.Time{time.Date(2026, 1, 5, 10, 1, 0, 0, time.UTC)}, st.Pending, "the claimed fire stays pending")

	f.scheduler(t, Config{}).pass(ctx) // the healthy scheduler enqueues it
	require.Len(t, f.jobs(t, "f"), 1)
	require.Empty(t, mustGet(t, f.store, "f").State.Pending)
	f.scheduler(t, Config{}).pass(ctx)
	require.Len(t, f.jobs(t, "f"), 1, "and only once")
}

func mustGet(t *testing.T, s *Store, name string) *Entry {
	t.Helper()
	e, err := s.Get(context.Background(), name)
	require.NoError(t, err)
	return e
}

func TestStateSurvivesARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	ctx := context.Background()
	open := func() *fixture {
		b, err := sqlite.Open(ctx, "sqlite:"+path)
		require.NoError(t, err)
		f := newFixture(t, b)
		t.Cleanup(func() { b.Close() })
		return f
	}
	f := open()
	f.put(t, Schedule{Name: "p", Cron: "* * * * *", Kind: "p"})
	f.clk.Advance(time.Minute)
	f.scheduler(t, Config{}).pass(ctx)
	require.NoError(t, f.b.Close())

	g := open()
	g.clk.Set(f.clk.Now()) // same time: the fire was handled before the restart
	g.scheduler(t, Config{}).pass(ctx)
	require.Len(t, g.jobs(t, "p"), 1)
	g.clk.Advance(time.Minute)
	g.scheduler(t, Config{}).pass(ctx)
	require.Len(t, g.jobs(t, "p"), 2)
}

func TestRunFiresOnTheWallClock(t *testing.T) {
	b, err := memory.New(context.Background(), memory.Config{})
	require.NoError(t, err)
	defer b.Close()
	cl, err := conveyor.NewClient(b, conveyor.ClientConfig{})
	require.NoError(t, err)
	s, err := New(cl, Config{
		Schedules: []Schedule{{Name: "sec", Cron: "* * * * * *", Kind: "sec"}},
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	defer s.Stop()
	require.Eventually(t, func() bool {
		res, err := cl.List(context.Background(), &conveyor.ListParams{Kind: "sec"})
		return err == nil && len(res.Jobs) >= 2
	}, 10*time.Second, 50*time.Millisecond, "an every-second schedule fires on its own")
}

func TestDecode(t *testing.T) {
	s, err := Decode([]byte(`{"name":"a","cron":"@daily","kind":"k","timeout":"90s","enabled":true}`))
	require.NoError(t, err)
	require.Equal(t, 90*time.Second, s.Timeout)
	s, err = Decode([]byte(`{"name":"a","cron":"@daily","kind":"k","timeout":2.5}`))
	require.NoError(t, err)
	require.Equal(t, 2500*time.Millisecond, s.Timeout)
	data, err := json.Marshal(s)
	require.NoError(t, err)
	require.JSONEq(t, `{"name":"a","cron":"@daily","kind":"k","timeout":"2.5s","enabled":true}`, string(data))

	for in, want := range map[string]string{
		`{"name":"a","crn":"@daily"}`: `unknown field "crn"`,
		`{"timeout":"soon"}`:          `timeout "soon" is not a duration`,
		`{"timeout":[1]}`:             "want a duration string or a number of seconds",
		`{"timeout":1e300}`:           "want a duration string or a number of seconds",
		`{} {}`:                       "more than one JSON value",
		`[`:                           "unexpected EOF",
	} {
		_, err := Decode([]byte(in))
		require.ErrorIs(t, err, ErrInvalid, in)
		require.ErrorContains(t, err, want, in)
	}
}

func TestDaylightSavingTime(t *testing.T) {
	f := newFixture(t, nil)
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	f.clk.Set(time.Date(2025, 11, 1, 12, 0, 0, 0, time.UTC))
	f.put(t, Schedule{Name: "late", Cron: "30 1 * * *", Timezone: "America/New_York", Kind: "late"})
	f.put(t, Schedule{Name: "half-hourly", Cron: "0,30 * * * *", Timezone: "America/New_York", Kind: "hh"})
	s := f.scheduler(t, Config{})
	// Through the night clocks go back (2025-11-02 02:00 EDT -> 01:00 EST),
	// a pass every 10 minutes.
	for f.clk.Now().Before(time.Date(2025, 11, 2, 12, 0, 0, 0, time.UTC)) {
		f.clk.Advance(10 * time.Minute)
		s.pass(context.Background())
	}
	late := fireTimes(t, f.jobs(t, "late"))
	require.Len(t, late, 1, "01:30 happens twice that night; a fixed-time schedule fires once: %v", late)
	require.Equal(t, 1, late[0].In(ny).Hour())
	// A schedule at every hour keeps both 01:00 and both 01:30.
	var oneAM int
	for _, ft := range fireTimes(t, f.jobs(t, "hh")) {
		if ft.In(ny).Hour() == 1 {
			oneAM++
		}
	}
	require.Equal(t, 4, oneAM, "01:00 and 01:30, EDT and EST")
}

func TestStaleReplicaCannotRevertARecreatedSchedule(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.put(t, Schedule{Name: "x", Cron: "* * * * *", Kind: "old"})
	stale := mustGet(t, f.store, "x")
	require.NoError(t, f.store.Delete(ctx, "x"))
	_, err := f.store.Create(ctx, Schedule{Name: "x", Cron: "0 3 * * *", Kind: "new"}, f.clk.Now())
	require.NoError(t, err)
	require.Equal(t, stale.Version, mustGet(t, f.store, "x").Version, "versions start over: only the generation tells them apart")
	f.clk.Advance(time.Minute)
	_, err = f.scheduler(t, Config{}).fire(ctx, stale)
	require.NoError(t, err)
	now := mustGet(t, f.store, "x")
	require.Equal(t, "new", now.Kind)
	require.Equal(t, "0 3 * * *", now.Cron)
	require.Empty(t, f.jobs(t, "old"), "the stale copy lost its claim")
}

func TestQueueChangeDuringAFireEnqueuesOnce(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.put(t, Schedule{Name: "q", Cron: "* * * * *", Kind: "q", Queue: "q1"})
	stale := mustGet(t, f.store, "q")
	f.put(t, Schedule{Name: "q", Cron: "* * * * *", Kind: "q", Queue: "q2"})
	f.clk.Advance(time.Minute)
	s := f.scheduler(t, Config{})
	_, err := s.fire(ctx, stale) // loses its claim: the record changed
	require.NoError(t, err)
	s.pass(ctx)
	jobs := f.jobs(t, "q")
	require.Len(t, jobs, 1)
	require.Equal(t, "q2", jobs[0].Queue)
}

func TestAFastClockDoesNotRunAFireEarly(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.put(t, Schedule{Name: "early", Cron: "* * * * *", Kind: "early"})
	fast := clock.NewFake(t0.Add(10 * time.Minute)) // this replica's clock is 10 min ahead
	cfg := Config{Clock: fast, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s, err := New(f.cl, cfg)
	require.NoError(t, err)
	s.pass(ctx)
	jobs := f.jobs(t, "early")
	require.Len(t, jobs, 1, "skip policy: only the fire within the grace")
	require.Equal(t, conveyor.StateScheduled, jobs[0].State, "the job waits for its fire time on the client's clock")
	require.Equal(t, t0.Add(10*time.Minute).Truncate(time.Minute), jobs[0].RunAt.UTC())
}

func TestValidateRefusesWhatCouldNeverFire(t *testing.T) {
	ok := Schedule{Name: "n", Cron: "@daily", Kind: "k"}
	for want, edit := range map[string]func(*Schedule){
		"tags must be 1 to 100 bytes": func(s *Schedule) { s.Tags = []string{""} },
		"args are 1048579 bytes":      func(s *Schedule) { s.Args = json.RawMessage(`"` + strings.Repeat("x", 1<<20+1) + `"`) },
		`"Local" differs`:             func(s *Schedule) { s.Timezone = "Local" },
		"whole number of seconds":     func(s *Schedule) { s.Cron = "@every 500ms" },
	} {
		s := ok
		edit(&s)
		err := s.Validate()
		require.ErrorIs(t, err, ErrInvalid, want)
		require.ErrorContains(t, err, want)
	}
	s := ok
	s.Cron = "@every 90s"
	require.NoError(t, s.Validate())
}

func TestDecodeAcceptsWhatGetAnswers(t *testing.T) {
	e := Entry{Schedule: Schedule{Name: "a", Cron: "@daily", Kind: "k"}, State: State{Since: t0}, Version: 4}
	data, err := json.Marshal(e)
	require.NoError(t, err)
	s, err := Decode(data)
	require.NoError(t, err)
	require.Equal(t, e.Schedule, s)
}

// TestTriggerKeysDoNotCollide: the trigger keys of two schedules whose
// names and keys could spell each other's, or a fire key, stay apart.
func TestTriggerKeysDoNotCollide(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	f.put(t, Schedule{Name: "a", Cron: "@daily", Kind: "kind-a"})
	f.put(t, Schedule{Name: "a:trigger:b", Cron: "@daily", Kind: "kind-b"})
	first, err := TriggerOnce(ctx, f.cl, "a:trigger:b", "c")
	require.NoError(t, err)
	second, err := TriggerOnce(ctx, f.cl, "a", "b:trigger:c")
	require.NoError(t, err)
	require.False(t, second.Duplicate, "schedule a's trigger answered schedule a:trigger:b's job %s", first.ID)
	again, err := TriggerOnce(ctx, f.cl, "a", "b:trigger:c")
	require.NoError(t, err)
	require.True(t, again.Duplicate)
	require.Equal(t, second.ID, again.ID)
	_, err = TriggerOnce(ctx, f.cl, "a", "bad key")
	require.ErrorIs(t, err, ErrInvalid)
}
