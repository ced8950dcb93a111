package nats

import (
	"encoding/json"
	"strconv"
	"testing"

	"conveyor/backend"

	natsio "github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
)

// carriedMsg builds a fetched-looking ready message with the given headers.
func carriedMsg(rev, job string) *natsio.Msg {
	m := natsio.NewMsg("x")
	if rev != "" {
		m.Header.Set(hdrRev, rev)
	}
	if job != "" {
		m.Header.Set(hdrJob, job)
	}
	return m
}

func TestCarried(t *testing.T) {
	t.Parallel()
	rec, err := json.Marshal(storedJob{Job: backend.Job{ID: "j1", State: backend.StateQueued}, Gen: 1})
	require.NoError(t, err)
	c := carried(carriedMsg("42", string(rec)), "j1", 1)
	require.NotNil(t, c)
	require.Equal(t, uint64(42), c.rev)
	require.Equal(t, int64(1), c.gen)
	require.Equal(t, "j1", c.job.ID)

	tests := []struct {
		name, rev, job, id string
		gen                int64
	}{
		{name: "no headers", id: "j1", gen: 1},
		{name: "no revision", job: string(rec), id: "j1", gen: 1},
		{name: "bad revision", rev: "x", job: string(rec), id: "j1", gen: 1},
		{name: "zero revision", rev: "0", job: string(rec), id: "j1", gen: 1},
		{name: "bad record", rev: "42", job: "{", id: "j1", gen: 1},
		{name: "another job", rev: "42", job: string(rec), id: "j2", gen: 1},
		{name: "another generation", rev: "42", job: string(rec), id: "j1", gen: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Nil(t, carried(carriedMsg(tt.rev, tt.job), tt.id, tt.gen))
		})
	}
	require.Nil(t, carried(&natsio.Msg{}, "j1", 1), "a message without a header map")
}

// A carried record too big to travel is left out: the claim reads it.
func TestCarriedReadyBounded(t *testing.T) {
	t.Parallel()
	b := &Backend{names: newNames("P")}
	j := &backend.Job{ID: "j1", Queue: "q"}
	require.NotNil(t, b.carriedReady(j, 7, []byte(`{}`)).hdr)
	require.Nil(t, b.carriedReady(j, 7, make([]byte, carryMax+1)).hdr)
	require.Nil(t, b.carriedReady(j, 0, []byte(`{}`)).hdr, "no revision, nothing to carry")
}

// enqueueDue enqueues one job due now on queue q.
func (h *bundle) enqueueDue(q string) *backend.JobInsert {
	in := newInsert(q)
	in.RunAt = h.now
	h.enqueue(h.now, in)
	return in
}

// A claim starts from the record its ready message carries, but when the
// record changed since (here: rewritten while still queued), its
// compare-and-set fails and it re-reads: the claimed job is the current
// record, and the stale copy is never written.
func TestClaimStaleCarriedRecordRereads(t *testing.T) {
	h := setup(t)
	q := "carry-stale"
	in := h.enqueueDue(q)
	e, err := h.b.jobs.Get(h.ctx, in.ID)
	require.NoError(t, err)
	var sj storedJob
	require.NoError(t, json.Unmarshal(e.Value(), &sj))
	sj.Tags = []string{"rewritten"}
	data, err := json.Marshal(sj)
	require.NoError(t, err)
	_, err = h.b.jobs.Update(h.ctx, in.ID, data, e.Revision())
	require.NoError(t, err)

	got := h.claim(h.b, q, 10, h.now)
	require.Len(t, got, 1)
	require.Equal(t, []string{"rewritten"}, got[0].Tags)
	j, err := h.b.JobGet(h.ctx, &backend.JobGetParams{ID: in.ID})
	require.NoError(t, err)
	require.Equal(t, backend.StateRunning, j.State)
	require.Equal(t, []string{"rewritten"}, j.Tags)
}

// The claim of a freshly enqueued job uses the carried record: the ready
// message holds the record's current revision.
func TestEnqueueCarriesRecord(t *testing.T) {
	h := setup(t)
	q := "carry-fresh"
	in := h.enqueueDue(q)
	e, err := h.b.jobs.Get(h.ctx, in.ID)
	require.NoError(t, err)
	m, err := h.b.ready.GetLastMsgForSubject(h.ctx, h.b.names.readySubject(q, 0))
	require.NoError(t, err)
	require.Equal(t, strconv.FormatUint(e.Revision(), 10), m.Header.Get(hdrRev))
	require.JSONEq(t, string(e.Value()), m.Header.Get(hdrJob))
}

// An enqueue whose ready messages cannot be published fails and deletes
// the records it created, so no job waits that nothing announces.
func TestEnqueueAnnounceFailureUndoes(t *testing.T) {
	h := setup(t)
	q := "carry-undo"
	// A first job makes the queue and its consumer known, so the next
	// enqueue goes straight to its writes.
	h.enqueueDue(q)
	require.NoError(t, h.b.js.DeleteStream(h.ctx, h.b.names.readyStream()))
	in := newInsert(q)
	in.RunAt = h.now
	_, err := h.b.JobEnqueue(h.ctx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{in}, Now: h.now})
	require.Error(t, err)
	_, err = h.b.JobGet(h.ctx, &backend.JobGetParams{ID: in.ID})
	require.ErrorIs(t, err, backend.ErrNotFound)
}

// A queued record without a ready message (its enqueue stopped between the
// record and the message) is claimable again once the producer retries the
// enqueue with the same ID: the retry is a duplicate that republishes.
func TestDuplicateEnqueueHealsUnannouncedJob(t *testing.T) {
	h := setup(t)
	q := "carry-heal"
	in := h.enqueueDue(q)
	require.NoError(t, h.b.ready.Purge(h.ctx), "simulate the lost second round")
	require.Empty(t, h.claim(h.b, q, 10, h.now))

	outs := h.enqueue(h.now, in)
	require.True(t, outs[0].Duplicate)
	require.Equal(t, backend.StateQueued, outs[0].State)
	got := h.claim(h.b, q, 10, h.now)
	require.Len(t, got, 1)
	require.Equal(t, in.ID, got[0].ID)
}
