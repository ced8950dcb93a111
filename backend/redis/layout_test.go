package redis

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"conveyor/backend"
)

// TestSmallJobIsListpack: a small job's hash stays a listpack (every value
// within the default hash-max-listpack-value of 64 bytes) through enqueue,
// claim and completion; a hashtable costs the server about a third more per
// claim and finish.
func TestSmallJobIsListpack(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	q := "listpack"
	cfg, err := b.rdb.ConfigGet(ctx, "hash-max-listpack-value").Result()
	require.NoError(t, err)
	if cfg["hash-max-listpack-value"] != "64" {
		t.Fatalf("the server's hash-max-listpack-value is %v, not the default this test is about", cfg)
	}
	job := insert(q, func(j *backend.JobInsert) {
		j.Kind = "bench"
		j.Args = json.RawMessage(`{"t":1763912345123456789}`)
		j.Meta = json.RawMessage(`{"trace":"0123456789abcdef"}`)
	})
	enqueue(t, b, time.Unix(0, 1763912345123456789), job)
	encoding := func() string {
		enc, err := b.rdb.ObjectEncoding(ctx, b.k.job(q, job.ID)).Result()
		require.NoError(t, err)
		return enc
	}
	require.Equal(t, "listpack", encoding(), "after enqueue")
	c := claim(t, b, q, 1, t0, time.Minute)
	require.Len(t, c, 1)
	require.JSONEq(t, string(job.Args), string(c[0].Args))
	require.JSONEq(t, string(job.Meta), string(c[0].Meta))
	require.Equal(t, "listpack", encoding(), "after claim")
	_, err = b.JobFinish(ctx, &backend.JobFinishParams{Now: t0, Jobs: []*backend.JobOutcome{
		{ID: job.ID, LeaseToken: c[0].LeaseToken, Outcome: backend.OutcomeCompleted},
	}})
	require.NoError(t, err)
	require.Equal(t, "listpack", encoding(), "after completion")
}

// TestFramedRecordsRead: a record written before the static JSON, args and
// meta were split (all three framed in d) is still read by get and claim.
func TestFramedRecordsRead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	q := "framed"
	job := insert(q, func(j *backend.JobInsert) { j.Meta = json.RawMessage(`{"m":1}`) })
	enqueue(t, b, t0, job)
	key := b.k.job(q, job.ID)
	fields, err := b.rdb.HMGet(ctx, key, "d", "g", "m").Result()
	require.NoError(t, err)
	d, _ := fields[0].(string)
	require.NoError(t, b.rdb.HSet(ctx, key, "d", encodeStatic([]byte(d), job.Args, job.Meta)).Err())
	require.NoError(t, b.rdb.HDel(ctx, key, "g", "m").Err())
	got, err := b.JobGet(ctx, &backend.JobGetParams{ID: job.ID})
	require.NoError(t, err)
	require.Equal(t, job.Kind, got.Kind)
	require.JSONEq(t, string(job.Args), string(got.Args))
	require.JSONEq(t, `{"m":1}`, string(got.Meta))
	c := claim(t, b, q, 1, t0, time.Minute)
	require.Len(t, c, 1)
	require.JSONEq(t, string(job.Args), string(c[0].Args))
	require.JSONEq(t, `{"m":1}`, string(c[0].Meta))
}

// TestEarlyLayout1ArgsRead: the first layout-1 builds kept the args in field
// x (plain static JSON in d, no g); get and claim still return those args
// rather than empty ones.
func TestEarlyLayout1ArgsRead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	q := "early"
	job := insert(q, func(j *backend.JobInsert) { j.Args = json.RawMessage(`{"early":[1,2,3]}`) })
	enqueue(t, b, t0, job)
	key := b.k.job(q, job.ID)
	require.NoError(t, b.rdb.HSet(ctx, key, "x", string(job.Args)).Err())
	require.NoError(t, b.rdb.HDel(ctx, key, "g").Err())
	b.idQueue = idCache{} // read through the index, as another process would
	got, err := b.JobGet(ctx, &backend.JobGetParams{ID: job.ID})
	require.NoError(t, err)
	require.Equal(t, job.Kind, got.Kind)
	require.JSONEq(t, string(job.Args), string(got.Args))
	c := claim(t, b, q, 1, t0, time.Minute)
	require.Len(t, c, 1)
	require.JSONEq(t, string(job.Args), string(c[0].Args))
}
