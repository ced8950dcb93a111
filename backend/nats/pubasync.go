package nats

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	natsio "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Stream writes are published here, not through the jetstream package's
// PublishAsync: its futures cost a timer per write and decode each
// acknowledgement with encoding/json, about 4 us of client CPU per write,
// a tenth of a claim+finish. Each write is a core publish whose reply
// subject is <inbox>.<id> under one wildcard subscription of the
// backend; the subscription's handler matches the reply to the call that
// waits for it and reads the sequence out of the acknowledgement without
// decoding it (an acknowledgement that is not a plain success is decoded
// in full). After a reconnect the client library resubscribes and flushes
// buffered publishes, as it did for PublishAsync.

// acks routes write acknowledgements to the calls waiting for them.
type acks struct {
	prefix string // reply subjects are prefix + "." + id (base 36)
	sub    *natsio.Subscription

	mu      sync.Mutex
	next    uint64
	pending map[uint64]ackWaiter
}

// ackWaiter is where the acknowledgement of one write goes: result i of
// the call reading ch.
type ackWaiter struct {
	ch chan<- ackResult
	i  int
}

// ackResult is one write's outcome, as sent to its call.
type ackResult struct {
	i int
	r writeResult
}

// startAcks subscribes to the backend's acknowledgement subjects.
func (b *Backend) startAcks() error {
	b.acks.prefix = b.nc.NewInbox()
	b.acks.pending = map[uint64]ackWaiter{}
	sub, err := b.nc.Subscribe(b.acks.prefix+".*", b.onAck)
	if err != nil {
		return fmt.Errorf("nats: subscribe to acknowledgements: %w", err)
	}
	// A batch of writes has up to a few thousand acknowledgements in
	// flight; never drop one as a slow consumer.
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return fmt.Errorf("nats: subscribe to acknowledgements: %w", err)
	}
	b.acks.sub = sub
	return nil
}

// onAck hands an acknowledgement to the call waiting for it (none: the
// call gave up, and the acknowledgement is dropped).
func (b *Backend) onAck(m *natsio.Msg) {
	if len(m.Subject) <= len(b.acks.prefix)+1 {
		return
	}
	id, err := strconv.ParseUint(m.Subject[len(b.acks.prefix)+1:], 36, 64)
	if err != nil {
		return
	}
	b.acks.mu.Lock()
	w, ok := b.acks.pending[id]
	delete(b.acks.pending, id)
	b.acks.mu.Unlock()
	if ok {
		// Never blocks: ch has room for every write of its call, and
		// each id is delivered once (it was just deleted).
		w.ch <- ackResult{i: w.i, r: parseAck(m)}
	}
}

// pubBatch is one call's writes in flight.
type pubBatch struct {
	b   *Backend
	ch  chan ackResult
	ids []uint64
}

// newPubBatch prepares a call of at most max writes.
func (b *Backend) newPubBatch(max int) *pubBatch {
	return &pubBatch{b: b, ch: make(chan ackResult, max), ids: make([]uint64, 0, max)}
}

// send publishes w, whose acknowledgement comes back as result i.
func (p *pubBatch) send(i int, w write) error {
	a := &p.b.acks
	a.mu.Lock()
	id := a.next
	a.next++
	a.pending[id] = ackWaiter{ch: p.ch, i: i}
	a.mu.Unlock()
	p.ids = append(p.ids, id)
	reply := a.prefix + "." + strconv.FormatUint(id, 36)
	var err error
	if !w.del && w.expect == expectNone {
		// No headers: the cheaper plain publish.
		err = p.b.nc.PublishRequest(w.subject, reply, w.data)
	} else {
		m := &natsio.Msg{Subject: w.subject, Reply: reply, Data: w.data, Header: natsio.Header{}}
		if w.del {
			m.Header.Set("KV-Operation", "DEL")
		}
		if w.expect != expectNone {
			m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(w.expect, 10))
		}
		err = p.b.nc.PublishMsg(m)
	}
	if err != nil {
		a.mu.Lock()
		delete(a.pending, id)
		a.mu.Unlock()
		return p.b.wrap("publish", err)
	}
	return nil
}

// close forgets the writes whose acknowledgement never came.
func (p *pubBatch) close() {
	a := &p.b.acks
	a.mu.Lock()
	for _, id := range p.ids {
		delete(a.pending, id)
	}
	a.mu.Unlock()
}

var (
	ackSeq   = []byte(`"seq":`)
	ackError = []byte(`"error"`)
)

// parseAck reads a stream's answer to a publish: the stored message's
// sequence, errCASConflict for a failed revision condition, or the error.
func parseAck(m *natsio.Msg) writeResult {
	d := m.Data
	if len(d) == 0 {
		if st := m.Header.Get("Status"); st == "503" {
			return writeResult{err: jetstream.ErrNoStreamResponse}
		} else if st != "" {
			return writeResult{err: fmt.Errorf("status %s %s", st, m.Header.Get("Description"))}
		}
		return writeResult{err: fmt.Errorf("empty acknowledgement")}
	}
	// {"stream":"KV_x_jobs","seq":12} (stream names hold no quotes).
	if !bytes.Contains(d, ackError) {
		if i := bytes.Index(d, ackSeq); i >= 0 {
			j := i + len(ackSeq)
			k := j
			for k < len(d) && d[k] >= '0' && d[k] <= '9' {
				k++
			}
			if seq, err := strconv.ParseUint(string(d[j:k]), 10, 64); err == nil && seq > 0 {
				return writeResult{rev: seq}
			}
		}
	}
	var a struct {
		Error *jetstream.APIError `json:"error"`
		Seq   uint64              `json:"seq"`
	}
	if err := json.Unmarshal(d, &a); err != nil {
		return writeResult{err: fmt.Errorf("bad acknowledgement %q: %w", d, err)}
	}
	if a.Error != nil {
		if isConflict(a.Error) {
			return writeResult{err: errCASConflict}
		}
		return writeResult{err: a.Error}
	}
	if a.Seq == 0 {
		return writeResult{err: fmt.Errorf("acknowledgement without a sequence: %q", d)}
	}
	return writeResult{rev: a.Seq}
}
