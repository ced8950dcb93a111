package nats

import (
	"errors"
	"testing"

	"conveyor/backend"

	natsio "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

func TestParseAck(t *testing.T) {
	t.Parallel()
	status := func(code, desc string) *natsio.Msg {
		m := natsio.NewMsg("x")
		m.Header.Set("Status", code)
		m.Header.Set("Description", desc)
		return m
	}
	data := func(s string) *natsio.Msg { return &natsio.Msg{Subject: "x", Data: []byte(s)} }
	cases := []struct {
		name     string
		msg      *natsio.Msg
		wantRev  uint64
		conflict bool
		wantErr  error // errors.Is target, when not a conflict
		anyErr   bool
	}{
		{name: "plain", msg: data(`{"stream":"KV_T1_jobs","seq":42}`), wantRev: 42},
		{name: "domain and duplicate", msg: data(`{"stream":"S","seq":7,"domain":"hub","duplicate":true}`), wantRev: 7},
		{name: "seq first", msg: data(`{"seq":9,"stream":"S"}`), wantRev: 9},
		{name: "spaced", msg: data(`{"stream": "S", "seq": 11}`), wantRev: 11},
		{name: "conflict", msg: data(`{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 5"},"stream":"S","seq":0}`), conflict: true},
		{name: "other api error", msg: data(`{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"}}`), anyErr: true},
		{name: "no responders", msg: status("503", ""), wantErr: jetstream.ErrNoStreamResponse},
		{name: "other status", msg: status("408", "Request Timeout"), anyErr: true},
		{name: "empty", msg: data(""), anyErr: true},
		{name: "garbage", msg: data(`nope`), anyErr: true},
		{name: "no sequence", msg: data(`{"stream":"S"}`), anyErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := parseAck(tc.msg)
			switch {
			case tc.conflict:
				require.ErrorIs(t, r.err, errCASConflict)
			case tc.wantErr != nil:
				require.ErrorIs(t, r.err, tc.wantErr)
			case tc.anyErr:
				require.Error(t, r.err)
				require.NotErrorIs(t, r.err, errCASConflict)
			default:
				require.NoError(t, r.err)
				require.Equal(t, tc.wantRev, r.rev)
			}
		})
	}
	// An API error keeps its code for callers that look.
	var apiErr *jetstream.APIError
	require.True(t, errors.As(parseAck(data(`{"error":{"code":503,"err_code":10077,"description":"x"}}`)).err, &apiErr))
	require.Equal(t, jetstream.ErrorCode(10077), apiErr.ErrorCode)
}

// TestWriteChained checks revisions, conflicts and follow-ups on the real
// server: then sees every result once, in index order, and each follow-up
// is published and answered.
func TestWriteChained(t *testing.T) {
	bb := setup(t)
	b := bb.b
	subj := func(k string) string { return kvSubject(b.names.recordsBucket(), "wc"+k) }
	ws := []write{
		{subject: subj("a"), data: []byte("1"), expect: 0},
		{subject: subj("b"), data: []byte("1"), expect: 12345}, // wrong revision
		{subject: subj("c"), data: []byte("1"), expect: expectNone},
		{subject: subj("d"), data: []byte("1"), expect: 0},
	}
	var order []int
	res, from, next := b.writeChained(bb.ctx, ws, func(i int, r writeResult) (write, bool) {
		order = append(order, i)
		if r.err != nil {
			return write{}, false
		}
		return write{subject: ws[i].subject, data: []byte("2"), expect: r.rev}, true
	})
	require.Equal(t, []int{0, 1, 2, 3}, order)
	require.NoError(t, res[0].err)
	require.ErrorIs(t, res[1].err, errCASConflict)
	require.NoError(t, res[2].err)
	require.NoError(t, res[3].err)
	require.Equal(t, []int{0, 2, 3}, from)
	require.Len(t, next, 3)
	for k, r := range next {
		require.NoError(t, r.err, "follow-up %d", k)
		require.Greater(t, r.rev, res[from[k]].rev)
	}
	e, err := b.records.Get(bb.ctx, "wca")
	require.NoError(t, err)
	require.Equal(t, "2", string(e.Value()))
	require.Equal(t, next[0].rev, e.Revision())

	// A follow-up whose own condition fails is a conflict too.
	_, _, next = b.writeChained(bb.ctx, ws[:1], func(int, writeResult) (write, bool) {
		return write{subject: ws[0].subject, data: []byte("3"), expect: 1}, true
	})
	require.ErrorIs(t, next[0].err, errCASConflict)

	// Nothing leaks: every call removed its registrations.
	b.acks.mu.Lock()
	require.Empty(t, b.acks.pending)
	b.acks.mu.Unlock()
}

// TestWriteAllClosed: writes of a closed backend fail with ErrClosed.
func TestWriteAllClosed(t *testing.T) {
	bb := setup(t)
	require.NoError(t, bb.b.Close())
	rs := bb.b.writeAll(bb.ctx, []write{{subject: kvSubject(bb.b.names.recordsBucket(), "x"), data: []byte("1"), expect: expectNone}})
	require.ErrorIs(t, rs[0].err, backend.ErrClosed)
}
