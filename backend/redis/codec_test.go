package redis

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"conveyor/backend"
)

// TestJobDecoderReuse: a decoder that parsed a run_at and lease field once
// reuses them for the next job with the same fields and parses new ones
// when they differ (no stale values across jobs of different claims).
func TestJobDecoderReuse(t *testing.T) {
	t.Parallel()
	static := string(encodeStatic(appendStatic(nil, &staticData{Kind: "k", EnqueuedAt: t0.UnixNano()}), []byte(`{}`), nil))
	leaseA := leaseField(t0, t0.Add(time.Minute), "owner-a")
	leaseB := leaseField(t0.Add(time.Hour), t0.Add(2*time.Hour), "owner-b")
	var dec jobDecoder
	for _, c := range []struct {
		runAt time.Time
		lease string
		want  leaseParts
	}{
		{t0, leaseA, leaseParts{t0, t0.Add(time.Minute), "owner-a"}},
		{t0, leaseA, leaseParts{t0, t0.Add(time.Minute), "owner-a"}},
		{t0.Add(time.Second), leaseB, leaseParts{t0.Add(time.Hour), t0.Add(2 * time.Hour), "owner-b"}},
		{t0, leaseA, leaseParts{t0, t0.Add(time.Minute), "owner-a"}},
	} {
		j, err := dec.decode("id", "q", &jobFields{d: static, s: "running", r: nsStr(c.runAt), L: c.lease, lt: "q|x.1"})
		require.NoError(t, err)
		require.Equal(t, c.runAt, j.RunAt)
		require.Equal(t, c.want.started, j.StartedAt)
		require.Equal(t, c.want.expires, j.LeaseExpiresAt)
		require.Equal(t, c.want.owner, j.LeaseOwner)
	}
	// Not running: the lease fields left behind are not reported.
	j, err := dec.decode("id", "q", &jobFields{d: static, s: "completed", r: nsStr(t0), L: leaseA, lt: "q|x.1"})
	require.NoError(t, err)
	require.Equal(t, backend.StateCompleted, j.State)
	require.Empty(t, j.LeaseOwner)
	require.True(t, j.LeaseExpiresAt.IsZero())
	_, err = dec.decode("id", "q", &jobFields{d: "garbage"})
	require.ErrorContains(t, err, "malformed static data")
}

// TestJobFieldsStatic: records keep the static JSON, args and meta in d, g
// and m; records written before that split framed all three in d, and both
// read the same.
func TestJobFieldsStatic(t *testing.T) {
	t.Parallel()
	d := string(appendStatic(nil, &staticData{Kind: "k", EnqueuedAt: 1}))
	split := &jobFields{d: d, g: `{"a":1}`, m: `{"m":2}`}
	framed := &jobFields{d: string(encodeStatic([]byte(d), []byte(`{"a":1}`), []byte(`{"m":2}`)))}
	for _, f := range []*jobFields{split, framed} {
		dj, args, meta, err := f.static()
		require.NoError(t, err)
		require.Equal(t, d, dj)
		require.Equal(t, `{"a":1}`, args)
		require.Equal(t, `{"m":2}`, meta)
		require.Equal(t, "k", kindOf(f.d))
	}
	_, _, _, err := (&jobFields{d: "x"}).static()
	require.Error(t, err)
	require.Empty(t, kindOf("x"))
}

// TestIDCacheBound: the ID cache records a batch under one lock, and is
// emptied rather than grown past idCacheSize, keeping the newest IDs.
func TestIDCacheBound(t *testing.T) {
	t.Parallel()
	var c idCache
	ids := make([]string, idCacheSize+10)
	for i := range ids {
		ids[i] = fmt.Sprint("id-", i)
	}
	c.putAll("q", ids)
	require.LessOrEqual(t, len(c.m), idCacheSize)
	q, ok := c.get(ids[len(ids)-1])
	require.True(t, ok)
	require.Equal(t, "q", q)
	_, ok = c.get(ids[0])
	require.False(t, ok, "emptied when full")
	c.put("other", "q2")
	q, ok = c.get("other")
	require.True(t, ok)
	require.Equal(t, "q2", q)
}
