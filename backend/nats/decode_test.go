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

// requireSameDecode decodes data with decodeJob and json.Unmarshal and
// requires the same record (or both failing).
func requireSameDecode(t *testing.T, data []byte) {
	t.Helper()
	var want, got storedJob
	wantErr := json.Unmarshal(data, &want)
	err := decodeJob(data, &got)
	if wantErr != nil {
		require.Error(t, err, "%s", data)
		return
	}
	require.NoError(t, err, "%s", data)
	require.True(t, reflect.DeepEqual(want, got), "%s\nwant %#v\ngot  %#v", data, want, got)
}

func TestDecodeJobMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	full := &storedJob{}
	fillAll(t, reflect.ValueOf(full), 0)
	data, err := encodeJob(full)
	require.NoError(t, err)
	var fast storedJob
	r := jsonReader{b: data}
	require.True(t, r.job(&fast) && r.i == len(data), "a plain record takes the fast path")
	require.Equal(t, *full, fast)
	requireSameDecode(t, data)

	for _, s := range []string{
		`{}`,
		`null`,
		``,
		`{"id":"a"`,
		`{"id":"a","kind":"k","queue":"q","args":null,"priority":0,"state":"queued","attempt":0,"max_attempts":1,"timeout":0,"run_at":"2030-01-01T00:00:00Z","enqueued_at":"2030-01-01T00:00:00Z"}`,
		`{"id":"a","kind":"k","queue":"q","args":{"a":[1,{"b":"}]"}],"c":"\"x"},"priority":-2,"state":"queued","attempt":0,"max_attempts":1,"timeout":5,"run_at":"2030-01-01T00:00:00.5+02:00","enqueued_at":"2030-01-01T00:00:00Z","ready_gen":3}`,
		`{"id":"a","kind":"k","queue":"q","args":[1,2],"priority":0,"state":"queued","attempt":0,"max_attempts":1,"timeout":0,"run_at":"2030-01-01T00:00:00Z","enqueued_at":"2030-01-01T00:00:00Z"}`,
		`{"id":"a","kind":"k","queue":"q","args":"s","priority":0,"state":"queued","attempt":0,"max_attempts":1,"timeout":0,"run_at":"2030-01-01T00:00:00Z","enqueued_at":"2030-01-01T00:00:00Z"}`,
		`{"id":"a","kind":"k","queue":"q","args":12.5e3,"priority":0,"state":"queued","attempt":0,"max_attempts":1,"timeout":0,"run_at":"2030-01-01T00:00:00Z","enqueued_at":"2030-01-01T00:00:00Z"}`,
		// Not encodeJob's layout: encoding/json decides.
		`{"kind":"k","id":"a","queue":"q","args":1,"priority":0,"state":"queued","attempt":0,"max_attempts":1,"timeout":0,"run_at":"2030-01-01T00:00:00Z","enqueued_at":"2030-01-01T00:00:00Z"}`,
		`{"id": "a","kind":"k"}`,
		`{"id":"a\u0041","kind":"k"}`,
		`{"id":"é","kind":"k","queue":"q","args":1,"priority":0,"state":"queued","attempt":0,"max_attempts":1,"timeout":0,"run_at":"2030-01-01T00:00:00Z","enqueued_at":"2030-01-01T00:00:00Z"}`,
		`{"id":"a","kind":"k","queue":"q","args":1,"priority":1.5,"state":"queued"}`,
		`{"id":"a","kind":"k","queue":"q","args":1,"priority":0,"state":"queued","attempt":0,"max_attempts":1,"timeout":0,"run_at":"2030-01-01T00:00:00Z","enqueued_at":"2030-01-01T00:00:00Z","new_field":1}`,
		`{"id":"a","kind":"k","queue":"q","args":{"a":1,},"priority":0,"state":"queued","attempt":0,"max_attempts":1,"timeout":0,"run_at":"2030-01-01T00:00:00Z","enqueued_at":"2030-01-01T00:00:00Z"}`,
		`{"id":"a","kind":"k","queue":"q","args":1,"priority":0,"state":"queued","attempt":0,"max_attempts":1,"timeout":0,"run_at":"not a time","enqueued_at":"2030-01-01T00:00:00Z"}`,
		`{"id":"a","kind":"k","queue":"q","args":1,"priority":0,"state":"queued","attempt":0,"max_attempts":1,"timeout":0,"run_at":"2030-01-01T00:00:00Z","tags":[],"enqueued_at":"2030-01-01T00:00:00Z"}`,
		`{"id":"a","kind":"k","queue":"q","args":1,"priority":0,"state":"queued","attempt":0,"max_attempts":1,"timeout":0,"run_at":"2030-01-01T00:00:00Z","enqueued_at":"2030-01-01T00:00:00Z","cancel_requested":false}`,
		`{"id":"a","kind":"k","queue":"q","args":1,"priority":0,"state":"queued","attempt":0,"max_attempts":1,"timeout":0,"run_at":"2030-01-01T00:00:00Z","enqueued_at":"2030-01-01T00:00:00Z"} `,
		`{"id":"a","kind":"k","queue":"q","args":1,"priority":0,"state":"queued","attempt":0,"max_attempts":1,"timeout":0,"run_at":"2030-01-01T00:00:00Z","enqueued_at":"2030-01-01T00:00:00Z"}x`,
		`{"id":"a","kind":"k","queue":"q","args":1,"priority":99999999999999999999,"state":"queued"}`,
	} {
		requireSameDecode(t, []byte(s))
	}
}

// TestDecodeJobRandom round-trips random records (TestEncodeJobRandom's
// kind) through json.Marshal and both decoders.
func TestDecodeJobRandom(t *testing.T) {
	t.Parallel()
	strs := []string{"", "a", "default", "x<y", "é", "tab\t", `q"`, "\xfe", "b\\c"}
	raws := []string{"", `1`, `{"a":1}`, `[1, 2]`, `"<"`, `{"a":"\u0041"}`, `{"é":1}`, `null`, `{"a":"]}"}`, `-0.5e-3`}
	loc := time.FixedZone("", 5*3600+1800)
	g := jobGen{r: rand.New(rand.NewPCG(3, 4)),
		times: []time.Time{{}, time.Date(2030, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(1999, 12, 31, 23, 59, 59, 999999999, loc), time.Date(2030, 6, 1, 0, 0, 0, 0, time.Local)}}
	fast := 0
	for n := range 2000 {
		// Half the records hold only plain values (the fast path), half
		// any (mostly the fallback).
		g.strs, g.raws = strs, raws
		if n%2 == 0 {
			g.strs, g.raws = strs[:3], raws[:3]
		}
		data, err := json.Marshal(g.job())
		if err != nil {
			continue // invalid raw JSON: nothing stored
		}
		requireSameDecode(t, data)
		var got storedJob
		if d := (jsonReader{b: data}); d.job(&got) && d.i == len(data) {
			fast++
		}
	}
	require.Greater(t, fast, 500, "records decoded on the fast path")
}

func BenchmarkDecodeJob(b *testing.B) {
	sj := &storedJob{Job: backend.Job{
		ID: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", Kind: "bench", Queue: "bench", Args: json.RawMessage(`{"n":1}`),
		State: backend.StateQueued, MaxAttempts: 3, Timeout: time.Minute, RunAt: time.Now(), EnqueuedAt: time.Now(),
	}, Gen: 1}
	data, err := encodeJob(sj)
	require.NoError(b, err)
	b.Run("decodeJob", func(b *testing.B) {
		for range b.N {
			var out storedJob
			_ = decodeJob(data, &out)
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		for range b.N {
			var out storedJob
			_ = json.Unmarshal(data, &out)
		}
	})
}
