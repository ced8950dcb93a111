package nats

import (
	"context"
	"testing"
	"time"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

func TestConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{name: "zero is valid", cfg: Config{}},
		{name: "custom prefix", cfg: Config{Prefix: "app_1-x"}},
		{name: "dot in prefix", cfg: Config{Prefix: "a.b"}, wantErr: true},
		{name: "space in prefix", cfg: Config{Prefix: "a b"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.cfg.WithDefaults()
			require.NotEmpty(t, c.URL)
			require.Equal(t, 1, c.Replicas)
			err := c.Validate()
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
		})
	}
}

func TestOpenURLPrefix(t *testing.T) {
	h := setup(t)
	// The URL from setup carries ?prefix=: a second backend opened from it
	// sees the first one's jobs, through backend.Open like a CLI would.
	b2, err := backend.Open(h.ctx, h.url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b2.Close() })
	in := newInsert("open-url")
	in.RunAt = h.now
	h.enqueue(h.now, in)
	j, err := b2.JobGet(h.ctx, &backend.JobGetParams{ID: in.ID})
	require.NoError(t, err)
	require.Equal(t, in.ID, j.ID)
	require.Equal(t, "nats", b2.Capabilities().Name)
}

func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := New(ctx, Config{URL: "nats://127.0.0.1:1", ConnectTimeout: time.Second})
	require.Error(t, err)
}

func TestNames(t *testing.T) {
	t.Parallel()
	at := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	ms, id, ok := parseSchedKey(schedKey(at, "abc-1"))
	require.True(t, ok)
	require.Equal(t, at.UnixMilli(), ms)
	require.Equal(t, "abc-1", id)
	ms, id, gen, ok := parseReadyPayload(readyPayload(at, "abc-2", 7))
	require.True(t, ok)
	require.Equal(t, at.UnixMilli(), ms)
	require.Equal(t, "abc-2", id)
	require.Equal(t, int64(7), gen)
	require.Equal(t, "p5", ptok(5))
	require.Equal(t, "n3", ptok(-3))
	n := newNames("P")
	require.NotEqual(t, n.readySubject("a.b", 0), n.readySubject("a_b", 0), "queue names hash to distinct tokens")
	require.NotEqual(t, recordKey("a", "b.c"), recordKey("a.b", "c"))
}

func TestClosed(t *testing.T) {
	h := setup(t)
	require.NoError(t, h.b.Close())
	_, err := h.b.JobGet(h.ctx, &backend.JobGetParams{ID: "x"})
	require.ErrorIs(t, err, backend.ErrClosed)
	_, err = h.b.JobClaim(h.ctx, &backend.JobClaimParams{Queue: "q", Limit: 1})
	require.ErrorIs(t, err, backend.ErrClosed)
}

// A cancelled job's ready message is dropped by the first claim that sees
// it (its record's ready generation shows it is stale), not retried.
func TestStaleMessageDropped(t *testing.T) {
	h := setup(t)
	q := "stale-drop"
	in := h.enqueueDue(q)
	_, err := h.b.JobCancel(h.ctx, &backend.JobCancelParams{ID: in.ID, Now: h.now})
	require.NoError(t, err)
	require.Empty(t, h.claim(h.b, q, 10, h.now))
	require.Eventually(t, func() bool {
		si, err := h.b.ready.Info(h.ctx)
		return err == nil && si.State.Msgs == 0
	}, 10*time.Second, 10*time.Millisecond, "stale ready message acknowledged (removed from the work queue)")
	// A retried job gets a new message and is claimable again.
	_, err = h.b.JobRetry(h.ctx, &backend.JobRetryParams{ID: in.ID, Now: h.now})
	require.NoError(t, err)
	got := h.claim(h.b, q, 10, h.now)
	require.Len(t, got, 1)
	require.Equal(t, in.ID, got[0].ID)
}

// The running index holds one key per claim batch: a finish writes no
// index, rescue still finds every expired lease of a batch, and a key is
// swept only once none of its jobs is running.
func TestRunningIndexBatches(t *testing.T) {
	h := setup(t)
	h.b.staleAge = 0 // every key is old enough to sweep
	q := "running-batch"
	ins := []*backend.JobInsert{newInsert(q), newInsert(q), newInsert(q)}
	for _, in := range ins {
		in.RunAt = h.now
	}
	h.enqueue(h.now, ins...)
	jobs := h.claim(h.b, q, 3, h.now)
	require.Len(t, jobs, 3)
	keys, err := h.b.listRunning(h.ctx)
	require.NoError(t, err)
	require.Len(t, keys, 1, "one index key for the claim batch")
	require.ElementsMatch(t, []string{jobs[0].ID, jobs[1].ID, jobs[2].ID}, keys[0].ids)

	// Finish one; the key stays while the other two run.
	_, err = h.b.JobFinish(h.ctx, &backend.JobFinishParams{Now: h.now, Jobs: []*backend.JobOutcome{
		{ID: jobs[0].ID, LeaseToken: jobs[0].LeaseToken, Outcome: backend.OutcomeCompleted},
	}})
	require.NoError(t, err)
	res, err := h.b.JobRescue(h.ctx, &backend.JobRescueParams{Now: h.now})
	require.NoError(t, err)
	require.Empty(t, res.Jobs, "no lease expired yet")
	keys, err = h.b.listRunning(h.ctx)
	require.NoError(t, err)
	require.Len(t, keys, 1, "a key with running jobs is kept")

	// After the leases expire, rescue finds both remaining jobs through the
	// batch key, and the next rescue sweeps the key.
	later := h.now.Add(time.Hour)
	res, err = h.b.JobRescue(h.ctx, &backend.JobRescueParams{Now: later})
	require.NoError(t, err)
	rescued := []string{}
	for _, r := range res.Jobs {
		rescued = append(rescued, r.ID)
	}
	require.ElementsMatch(t, []string{jobs[1].ID, jobs[2].ID}, rescued)
	_, err = h.b.JobRescue(h.ctx, &backend.JobRescueParams{Now: later})
	require.NoError(t, err)
	keys, err = h.b.listRunning(h.ctx)
	require.NoError(t, err)
	require.Empty(t, keys, "a key none of whose jobs runs is swept")
}

// QueuePurge removes the ready messages of the jobs it deletes, so claims
// after it find the new jobs at once instead of retrying every dead message
// as possibly early; jobs of other queues keep theirs.
func TestPurgeDropsReadyMessages(t *testing.T) {
	h := setup(t)
	q, other := "purge-ready", "purge-other"
	const n, m = 500, 20
	var old []*backend.JobInsert
	for i := range n {
		in := newInsert(q, func(in *backend.JobInsert) { in.Priority = i % 2 * 5 })
		in.RunAt = h.now
		old = append(old, in)
	}
	h.enqueue(h.now, old...)
	keep := newInsert(other)
	keep.RunAt = h.now
	h.enqueue(h.now, keep)

	res, err := h.b.QueuePurge(h.ctx, &backend.QueuePurgeParams{Queue: q})
	require.NoError(t, err)
	require.Equal(t, n, res.Deleted)
	si, err := h.b.ready.Info(h.ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(1), si.State.Msgs, "only the other queue's ready message is left")

	var fresh []*backend.JobInsert
	want := map[string]bool{}
	for range m {
		in := newInsert(q)
		in.RunAt = h.now
		fresh = append(fresh, in)
		want[in.ID] = true
	}
	h.enqueue(h.now, fresh...)
	got := map[string]bool{}
	for range 2 {
		for _, j := range h.claim(h.b, q, m, h.now) {
			got[j.ID] = true
		}
	}
	require.Equal(t, want, got, "the new jobs, and none of the purged ones, in two claims")
	require.Empty(t, h.claim(h.b, q, m, h.now))
	kept := h.claim(h.b, other, 10, h.now)
	require.Len(t, kept, 1)
	require.Equal(t, keep.ID, kept[0].ID)
}

// A ready message stored before its record was deleted is dropped by the
// first claim that fetches it (the record's delete marker is newer), not
// retried as possibly early.
func TestDeletedRecordMessageDropped(t *testing.T) {
	h := setup(t)
	q := "deleted-drop"
	a, c := newInsert(q), newInsert(q)
	a.RunAt, c.RunAt = h.now, h.now
	h.enqueue(h.now, a, c)
	for _, in := range []*backend.JobInsert{a, c} {
		require.NoError(t, h.b.JobDelete(h.ctx, &backend.JobDeleteParams{ID: in.ID}))
	}
	require.Empty(t, h.claim(h.b, q, 10, h.now))
	require.Eventually(t, func() bool {
		si, err := h.b.ready.Info(h.ctx)
		return err == nil && si.State.Msgs == 0
	}, 10*time.Second, 10*time.Millisecond, "messages of deleted records acknowledged by one claim")

	other := newInsert(q)
	other.RunAt = h.now
	h.enqueue(h.now, other)
	got := h.claim(h.b, q, 10, h.now)
	require.Len(t, got, 1)
	require.Equal(t, other.ID, got[0].ID)
}
