package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	natsio "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// getJobsDirect reads many job records with pipelined direct gets: every
// request goes out on one connection at once, each with its own reply
// subject under one wildcard subscription, and the replies are gathered as
// they come. This replaces one goroutine and one request/response round per
// record (nats.go's KV Get) and is what makes a claim batch's read cheap.
// ok is false when direct gets are not available (a bucket made without
// allow_direct answers "no responders"); the caller then reads per key.
func (b *Backend) getJobsDirect(ctx context.Context, ids []string) (out []entry, ok bool) {
	out = make([]entry, len(ids))
	inbox := b.nc.NewInbox()
	ch := make(chan *natsio.Msg, len(ids))
	sub, err := b.nc.ChanSubscribe(inbox+".*", ch)
	if err != nil {
		return nil, false
	}
	defer func() { _ = sub.Unsubscribe() }()
	bucket := b.names.jobsBucket()
	prefix := "$JS.API.DIRECT.GET.KV_" + bucket + "."
	want := 0
	for i, id := range ids {
		if !validKeyToken(id) {
			continue // cannot be a job ID: not found
		}
		if err := b.nc.PublishRequest(prefix+kvSubject(bucket, id), inbox+"."+strconv.Itoa(i), nil); err != nil {
			return nil, false
		}
		want++
	}
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	got := make([]bool, len(ids))
	for want > 0 {
		select {
		case m := <-ch:
			i, err := strconv.Atoi(m.Subject[strings.LastIndexByte(m.Subject, '.')+1:])
			if err != nil || i < 0 || i >= len(ids) || got[i] {
				continue
			}
			if m.Header.Get("Status") == "503" {
				return nil, false // no responders: no direct gets
			}
			got[i] = true
			want--
			out[i] = decodeDirect(ids[i], m)
		case <-timeout.C:
			return nil, false
		case <-ctx.Done():
			for i := range out {
				if !got[i] {
					out[i] = entry{err: ctx.Err()}
				}
			}
			return out, true
		}
	}
	return out, true
}

// decodeDirect turns a direct get reply into an entry: a 404 status, a
// delete or purge marker is "not found"; the Nats-Sequence header is the
// record's revision.
func decodeDirect(id string, m *natsio.Msg) entry {
	if len(m.Data) == 0 {
		switch m.Header.Get("Status") {
		case "":
		case "404":
			return entry{}
		default:
			return entry{err: fmt.Errorf("nats: get job %s: status %s %s", id, m.Header.Get("Status"), m.Header.Get("Description"))}
		}
	}
	switch m.Header.Get("KV-Operation") {
	case "DEL", "PURGE":
		// The marker's stream time tells claims that a ready message
		// published before it belongs to the deleted record (see
		// claimFrom). A missing or bad header just means "not known".
		at, _ := time.Parse(time.RFC3339Nano, m.Header.Get(jetstream.TimeStampHeaer))
		return entry{deletedAt: at}
	}
	if m.Header.Get(jetstream.MarkerReasonHeader) != "" {
		return entry{}
	}
	rev, err := strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
	if err != nil {
		return entry{err: fmt.Errorf("nats: get job %s: bad sequence header %q", id, m.Header.Get(jetstream.SequenceHeader))}
	}
	var sj storedJob
	if err := decodeJob(m.Data, &sj); err != nil {
		return entry{err: fmt.Errorf("nats: decode job %s: %w", id, err)}
	}
	return entry{job: &sj.Job, gen: sj.Gen, rev: rev}
}

// lastSeq returns the stream sequence of the ready stream's last message on
// subj (0 when it has none). It uses a direct get when the stream allows
// them and has one replica (a direct get may be served by a lagging
// replica, and this read must see every acknowledged publish), else the
// stream API.
func (b *Backend) lastSeq(ctx context.Context, subj string) (uint64, error) {
	if !b.readyDirect {
		last, err := b.ready.GetLastMsgForSubject(ctx, subj)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		return last.Sequence, nil
	}
	req, err := json.Marshal(struct {
		LastBySubj string `json:"last_by_subj"`
	}{subj})
	if err != nil {
		return 0, err
	}
	m, err := b.nc.RequestWithContext(ctx, "$JS.API.DIRECT.GET."+b.names.readyStream(), req)
	if err != nil {
		return 0, err
	}
	switch st := m.Header.Get("Status"); st {
	case "":
	case "404":
		return 0, nil
	default:
		return 0, fmt.Errorf("direct get: status %s %s", st, m.Header.Get("Description"))
	}
	return strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
}
