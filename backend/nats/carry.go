package nats

import (
	"bytes"
	"strconv"

	"conveyor/backend"

	natsio "github.com/nats-io/nats.go"
)

// A ready message published by an enqueue carries the record it announces
// and that record's revision, after the usual first line:
//
//	<run_at ms> <id> <generation>\n<revision>\n<record JSON>
//
// so a claim can move the record to running with one compare-and-set write
// and no read. A claim that finds no record there (messages published by
// transitions or purge, records over carryMax) reads the record as before;
// a claim whose write meets another revision (the job was cancelled,
// deleted or claimed meanwhile) re-reads it, as for any compare-and-set
// conflict. The record travels in the body, not in headers: headers made a
// batch enqueue 25-35% slower on nats-server 2.9 (3 A/B rounds). Versions
// of this backend before the carried record take such a message for a
// foreign one and drop it, so all processes sharing a prefix must run this
// version or a later one.

// carryMax bounds the encoded record a ready message carries: larger ones
// (big args) are read at claim instead of being stored twice.
const carryMax = 8 << 10

// carriedReady is the ready message of a new queued job whose record
// (encoded as rec) was stored at revision rev.
func (b *Backend) carriedReady(j *backend.Job, rev uint64, rec []byte) write {
	w := write{subject: b.names.readySubject(j.Queue, j.Priority), data: readyPayload(j.RunAt, j.ID, 1), expect: expectNone}
	if len(rec) <= carryMax && rev != 0 {
		// encoding/json output holds no line break.
		w.data = append(append(strconv.AppendUint(append(w.data, '\n'), rev, 10), '\n'), rec...)
	}
	return w
}

// carried returns the record a fetched ready message carries, as the
// transition's starting point (nil when it carries none that matches the
// message's job and generation).
func carried(m *natsio.Msg, id string, gen int64) *cached {
	_, rest, ok := bytes.Cut(m.Data, []byte("\n"))
	if !ok {
		return nil
	}
	revB, recB, ok := bytes.Cut(rest, []byte("\n"))
	if !ok {
		return nil
	}
	rev, err := strconv.ParseUint(string(revB), 10, 64)
	if err != nil || rev == 0 {
		return nil
	}
	var sj storedJob
	if err := decodeJob(recB, &sj); err != nil || sj.ID != id || sj.Gen != gen {
		return nil
	}
	return &cached{job: &sj.Job, gen: sj.Gen, rev: rev}
}
