package nats

import (
	"encoding/json"
	"testing"
	"time"

	"conveyor/backend"

	natsio "github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
)

// carriedMsg builds a fetched-looking ready message with the given body.
func carriedMsg(body string) *natsio.Msg { return &natsio.Msg{Data: []byte(body)} }

func TestCarried(t *testing.T) {
	t.Parallel()
	rec, err := json.Marshal(storedJob{Job: backend.Job{ID: "j1", State: backend.StateQueued}, Gen: 1})
	require.NoError(t, err)
	first := "1700000000000 j1 1\n"
	body := first + "42\n" + string(rec)
	c := carried(carriedMsg(body), "j1", 1)
	require.NotNil(t, c)
	require.Equal(t, uint64(42), c.rev)
	require.Equal(t, int64(1), c.gen)
	require.Equal(t, "j1", c.job.ID)
	ms, id, gen, ok := parseReadyPayload([]byte(body))
	require.True(t, ok, "the first line parses as any ready message")
	require.Equal(t, int64(1700000000000), ms)
	require.Equal(t, "j1", id)
	require.Equal(t, int64(1), gen)

	tests := []struct {
		name, body, id string
		gen            int64
	}{
		{name: "nothing carried", body: "1700000000000 j1 1", id: "j1", gen: 1},
		{name: "no record", body: first + "42", id: "j1", gen: 1},
		{name: "bad revision", body: first + "x\n" + string(rec), id: "j1", gen: 1},
		{name: "zero revision", body: first + "0\n" + string(rec), id: "j1", gen: 1},
		{name: "bad record", body: first + "42\n{", id: "j1", gen: 1},
		{name: "another job", body: body, id: "j2", gen: 1},
		{name: "another generation", body: body, id: "j1", gen: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Nil(t, carried(carriedMsg(tt.body), tt.id, tt.gen))
		})
	}
}

// A carried record too big to travel is left out: the claim reads it.
func TestCarriedReadyBounded(t *testing.T) {
	t.Parallel()
	b := &Backend{names: newNames("P")}
	at := time.UnixMilli(1700000000000)
	j := &backend.Job{ID: "j1", Queue: "q", RunAt: at}
	plain := readyPayload(at, "j1", 1)
	require.Equal(t, string(plain)+"\n7\n{}", string(b.carriedReady(j, 7, []byte(`{}`)).data))
	require.Equal(t, plain, b.carriedReady(j, 7, make([]byte, carryMax+1)).data)
	require.Equal(t, plain, b.carriedReady(j, 0, []byte(`{}`)).data, "no revision, nothing to carry")
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
	c := carried(&natsio.Msg{Data: m.Data}, in.ID, 1)
	require.NotNil(t, c)
	require.Equal(t, e.Revision(), c.rev)
	var sj storedJob
	require.NoError(t, json.Unmarshal(e.Value(), &sj))
	require.Equal(t, sj.Job.ID, c.job.ID)
	require.Equal(t, sj.Job.State, c.job.State)
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
