package redis

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"conveyor/backend"
)

// staticCases cover every field, omitted zero values, and strings the fast
// path must hand to encoding/json (quotes, backslashes, HTML characters,
// control characters, non-ASCII).
var staticCases = []staticData{
	{Kind: "bench", EnqueuedAt: 1},
	{Kind: "k", Priority: -3, Timeout: 60e9, EnqueuedAt: 1700000000123456789},
	{Kind: "k", UniqueKey: "u-1", UniqueStates: []backend.JobState{backend.StateQueued, backend.StateRunning}, EnqueuedAt: 5},
	{Kind: "k", Tags: []string{"a", "b c"}, EnqueuedAt: -5},
	{Kind: `q"uote`, UniqueKey: `back\slash`, Tags: []string{"<html>&", "tab\t", "é✓", ""}, EnqueuedAt: 7},
	{Kind: "", EnqueuedAt: 0},
}

// TestStaticRoundTrip: what appendStatic writes, encoding/json reads as the
// same value, and parseStatic reads what encoding/json writes, so records of
// either encoder are read by both decoders.
func TestStaticRoundTrip(t *testing.T) {
	t.Parallel()
	for _, want := range staticCases {
		fast := appendStatic(nil, &want)
		var viaJSON staticData
		require.NoError(t, json.Unmarshal(fast, &viaJSON), "%s", fast)
		require.Equal(t, want, viaJSON)

		var viaFast staticData
		require.NoError(t, parseStatic(string(fast), &viaFast))
		require.Equal(t, want, viaFast)

		std, err := json.Marshal(want)
		require.NoError(t, err)
		var fromStd staticData
		require.NoError(t, parseStatic(string(std), &fromStd))
		require.Equal(t, want, fromStd)
	}
}

// TestStaticPlainIsFast: the common shape is parsed without encoding/json,
// and the fast path produces exactly the bytes encoding/json does for it.
func TestStaticPlainIsFast(t *testing.T) {
	t.Parallel()
	d := staticData{Kind: "bench", Priority: 2, Timeout: 9, UniqueKey: "u", UniqueStates: []backend.JobState{"queued"}, Tags: []string{"x"}, EnqueuedAt: 3}
	std, err := json.Marshal(d)
	require.NoError(t, err)
	require.Equal(t, string(std), string(appendStatic(nil, &d)))
	var got staticData
	require.True(t, parseStaticFast(string(std), &got))
	require.Equal(t, d, got)
}

// TestStaticFallback: inputs the fast parser does not accept go to
// encoding/json, which reads the valid ones and rejects the broken ones.
func TestStaticFallback(t *testing.T) {
	t.Parallel()
	valid := map[string]staticData{
		`{"k":"a\"b","ea":1}`:              {Kind: `a"b`, EnqueuedAt: 1},
		`{ "k" : "a", "ea" : 2 }`:          {Kind: "a", EnqueuedAt: 2},
		`{"k":"a","new":true,"ea":3}`:      {Kind: "a", EnqueuedAt: 3},
		`{"k":"a","tg":["\u0041"],"ea":4}`: {Kind: "a", Tags: []string{"A"}, EnqueuedAt: 4},
	}
	for in, want := range valid {
		var fast staticData
		require.False(t, parseStaticFast(in, &fast), in)
		var got staticData
		require.NoError(t, parseStatic(in, &got), in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{``, `{`, `{"k":"a"`, `{"k":"a",}`, `{"k":1x}`, `{"ea":"x"}`, `{"k":"a"}trailing`, `{"tg":["a",]}`} {
		var got staticData
		require.Error(t, parseStatic(in, &got), in)
	}
}

// TestJobFieldsSources: the HGETALL pair form fills every field, unknown
// fields are ignored, and a field named twice keeps its last value (how
// job_get.lua overrides the state of a short-form completion).
func TestJobFieldsSources(t *testing.T) {
	t.Parallel()
	names := []string{"d", "g", "m", "s", "a", "ma", "r", "res", "e", "pg", "ft", "lt", "L", "cr", "other"}
	var pairs []any
	for _, n := range names {
		pairs = append(pairs, n, "v-"+n)
	}
	pairs = append(pairs, "s", "completed")
	want := &jobFields{d: "v-d", g: "v-g", m: "v-m", s: "completed", a: "v-a", ma: "v-ma", r: "v-r", res: "v-res", e: "v-e", pg: "v-pg",
		ft: "v-ft", lt: "v-lt", L: "v-L", cr: "v-cr"}
	require.Equal(t, want, fieldsFromPairs(pairs))
}
