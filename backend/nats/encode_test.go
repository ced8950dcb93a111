package nats

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

// fillAll sets every field of v (a struct, reached through a pointer) to a
// non-zero plain value, recursively, so a field the encoder does not know
// shows up as a difference from json.Marshal.
func fillAll(t *testing.T, v reflect.Value, seed int) {
	t.Helper()
	switch v.Kind() {
	case reflect.Pointer:
		fillAll(t, v.Elem(), seed)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2030, 1, 2, 3, 4, 5, 600+seed, time.UTC)))
			return
		}
		for i := range v.NumField() {
			fillAll(t, v.Field(i), seed+i)
		}
	case reflect.String:
		v.SetString("s" + string(rune('a'+seed%26)))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(int64(seed + 1))
	case reflect.Slice:
		if v.Type() == reflect.TypeFor[json.RawMessage]() {
			v.SetBytes([]byte(`{"k":[1,"x"]}`))
			return
		}
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fillAll(t, s.Index(i), seed+i)
		}
		v.Set(s)
	default:
		t.Fatalf("fillAll: field kind %s: teach fillAll and encodeJob", v.Kind())
	}
}

func requireSameAsJSON(t *testing.T, sj *storedJob) {
	t.Helper()
	want, wantErr := json.Marshal(sj)
	got, err := encodeJob(sj)
	if wantErr != nil {
		require.Error(t, err)
		return
	}
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
	fast, ok := appendJob(nil, sj)
	if ok {
		require.Equal(t, string(want), string(fast), "fast path")
	}
}

func TestEncodeJobMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	full := &storedJob{}
	fillAll(t, reflect.ValueOf(full), 0)
	_, ok := appendJob(nil, full)
	require.True(t, ok, "a plain record takes the fast path")
	requireSameAsJSON(t, full)

	base := func() *storedJob {
		return &storedJob{Job: backend.Job{
			ID: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", Kind: "email.send", Queue: "default",
			Args: json.RawMessage(`{"to":"a@b.c","n":1}`), State: backend.StateQueued, MaxAttempts: 25,
			Timeout: 5 * time.Minute, RunAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
			EnqueuedAt: time.Date(2030, 1, 1, 0, 0, 0, 123456789, time.UTC),
		}, Gen: 1}
	}
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	cases := []struct {
		name string
		mod  func(sj *storedJob)
	}{
		{name: "zero", mod: func(sj *storedJob) { *sj = storedJob{} }},
		{name: "base"},
		{name: "nil args", mod: func(sj *storedJob) { sj.Args = nil }},
		{name: "empty args", mod: func(sj *storedJob) { sj.Args = json.RawMessage{} }},
		{name: "args with spaces", mod: func(sj *storedJob) { sj.Args = json.RawMessage(`{ "a" : [1, 2] }`) }},
		{name: "args with html", mod: func(sj *storedJob) { sj.Args = json.RawMessage(`{"a":"<b>&</b>"}`) }},
		{name: "args with escapes", mod: func(sj *storedJob) { sj.Args = json.RawMessage(`{"a":"q\"\\ \u00e9 "}`) }},
		{name: "args with spaces in strings", mod: func(sj *storedJob) { sj.Args = json.RawMessage(`{"a b":" c "}`) }},
		{name: "args unicode", mod: func(sj *storedJob) { sj.Args = json.RawMessage(`{"a":"é\u2028 ` + "\u2028" + `"}`) }},
		{name: "args invalid", mod: func(sj *storedJob) { sj.Args = json.RawMessage(`{"a":`) }},
		{name: "args invalid utf8", mod: func(sj *storedJob) { sj.Args = json.RawMessage("\"\xff\"") }},
		{name: "string escapes", mod: func(sj *storedJob) { sj.Kind = "a\"b\\c\n<&>\t\x01é\u2028" }},
		{name: "invalid utf8 string", mod: func(sj *storedJob) { sj.Queue = "q\xff" }},
		{name: "negative numbers", mod: func(sj *storedJob) { sj.Priority, sj.Attempt, sj.Gen = -3, -1, -2 }},
		{name: "zone", mod: func(sj *storedJob) { sj.RunAt = time.Date(2030, 6, 1, 12, 0, 0, 5000, ny) }},
		{name: "odd zone", mod: func(sj *storedJob) { sj.RunAt = time.Date(2030, 6, 1, 12, 0, 0, 0, time.FixedZone("x", 3600+30)) }},
		{name: "year 10000", mod: func(sj *storedJob) { sj.RunAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{name: "negative year", mod: func(sj *storedJob) { sj.EnqueuedAt = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{name: "monotonic", mod: func(sj *storedJob) { sj.StartedAt = time.Now() }},
		{name: "running", mod: func(sj *storedJob) {
			sj.State, sj.Attempt, sj.LeaseOwner, sj.LeaseToken = backend.StateRunning, 1, "w1", "TOKEN"
			sj.StartedAt, sj.LeaseExpiresAt = sj.RunAt, sj.RunAt.Add(time.Minute)
		}},
		{name: "errors", mod: func(sj *storedJob) {
			sj.Errors = []backend.AttemptError{{Attempt: 1, At: sj.RunAt, Message: "boom"}, {Attempt: 2, Message: "x", Stack: "goroutine 1 [running]:\n\tmain.go:3"}}
		}},
		{name: "empty slices", mod: func(sj *storedJob) {
			sj.Tags, sj.UniqueStates, sj.Errors = []string{}, []backend.JobState{}, []backend.AttemptError{}
		}},
		{name: "result null", mod: func(sj *storedJob) { sj.Result = json.RawMessage(`null`) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sj := base()
			if tc.mod != nil {
				tc.mod(sj)
			}
			requireSameAsJSON(t, sj)
		})
	}
}

// TestEncodeJobRandom compares encodeJob with json.Marshal on random
// records built from pieces that take both paths.
func TestEncodeJobRandom(t *testing.T) {
	t.Parallel()
	g := jobGen{
		r:     rand.New(rand.NewPCG(1, 2)),
		strs:  []string{"", "a", "default", "x<y", "é", "tab\t", `q"`, "emoji 😀", "\xfe"},
		raws:  []string{"", `1`, `{"a":1}`, `[1, 2]`, `"<"`, `{"a":"\u0041"}`, `nul`, `{"é":1}`},
		times: []time.Time{{}, time.Date(2030, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("", -5*3600))},
	}
	for range 2000 {
		requireSameAsJSON(t, g.job())
	}
}

// jobGen makes random stored records from a few awkward values, for the
// encoder's and decoder's comparisons with encoding/json.
type jobGen struct {
	r          *rand.Rand
	strs, raws []string
	times      []time.Time
}

func (g jobGen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }
func (g jobGen) at() time.Time           { return g.times[g.r.IntN(len(g.times))] }

func (g jobGen) raw() json.RawMessage {
	s := g.pick(g.raws)
	if s == "" && g.r.IntN(2) == 0 {
		return nil
	}
	return json.RawMessage(s)
}

func (g jobGen) job() *storedJob {
	r, s := g.r, g.pick
	sj := &storedJob{Job: backend.Job{
		ID: s(g.strs), Kind: s(g.strs), Queue: s(g.strs), Args: g.raw(), Priority: r.IntN(21) - 10,
		State: backend.JobState(s(g.strs)), Attempt: r.IntN(5), MaxAttempts: r.IntN(30), Timeout: time.Duration(r.Int64N(1e12)),
		RunAt: g.at(), UniqueKey: s(g.strs), Meta: g.raw(), Result: g.raw(), Progress: g.raw(),
		EnqueuedAt: g.at(), StartedAt: g.at(), FinishedAt: g.at(),
		LeaseOwner: s(g.strs), LeaseToken: s(g.strs), LeaseExpiresAt: g.at(), CancelRequested: r.IntN(2) == 0,
	}, Gen: r.Int64N(3)}
	if r.IntN(2) == 0 {
		sj.Tags = []string{s(g.strs), s(g.strs)}
		sj.UniqueStates = []backend.JobState{backend.StateQueued, backend.JobState(s(g.strs))}
		sj.Errors = []backend.AttemptError{{Attempt: 1, At: g.at(), Message: s(g.strs), Stack: s(g.strs)}, {Attempt: 2, Message: "m"}}
	}
	return sj
}

func BenchmarkEncodeJob(b *testing.B) {
	sj := &storedJob{Job: backend.Job{
		ID: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", Kind: "bench", Queue: "bench", Args: json.RawMessage(`{"n":1}`),
		State: backend.StateRunning, Attempt: 1, MaxAttempts: 3, Timeout: time.Minute, RunAt: time.Now(), EnqueuedAt: time.Now(),
		StartedAt: time.Now(), LeaseOwner: "w", LeaseToken: "ABCDEFGHIJKLMNOPQRSTUVWXYZ", LeaseExpiresAt: time.Now(),
	}, Gen: 1}
	b.Run("encodeJob", func(b *testing.B) {
		for range b.N {
			_, _ = encodeJob(sj)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		for range b.N {
			_, _ = json.Marshal(sj)
		}
	})
}
