package nats

import (
	"encoding/json"
	"strconv"

	"conveyor/backend"

	natsio "github.com/nats-io/nats.go"
)

// A ready message published by an enqueue carries the record it announces
// and that record's revision, in two headers beside the usual body, so a
// claim can move the record to running with one compare-and-set write and
// no read. The body is unchanged ("<run_at ms> <id> <generation>"): older
// versions of this backend read such messages as before. A claim that finds
// no usable headers (messages published by transitions or purge, records
// over carryMax, older versions) reads the record as before; a claim whose
// write meets another revision (the job was cancelled, deleted or claimed
// meanwhile) re-reads it, as for any compare-and-set conflict.

// Headers of a ready message that carries its record.
const (
	hdrRev = "Conveyor-Rev"
	hdrJob = "Conveyor-Job"
)

// carryMax bounds the encoded record a ready message carries: larger ones
// (big args) are read at claim instead of being stored twice.
const carryMax = 8 << 10

// carriedReady is the ready message of a new queued job whose record
// (encoded as rec) was stored at revision rev.
func (b *Backend) carriedReady(j *backend.Job, rev uint64, rec []byte) write {
	w := write{subject: b.names.readySubject(j.Queue, j.Priority), data: readyPayload(j.RunAt, j.ID, 1), expect: expectNone}
	if len(rec) <= carryMax && rev != 0 {
		w.hdr = natsio.Header{}
		w.hdr.Set(hdrRev, strconv.FormatUint(rev, 10))
		// encoding/json output holds no line breaks, so it is a valid
		// header value.
		w.hdr.Set(hdrJob, string(rec))
	}
	return w
}

// carried returns the record a fetched ready message carries, as the
// transition's starting point (nil when it carries none that matches the
// message's job and generation).
func carried(m *natsio.Msg, id string, gen int64) *cached {
	if m.Header == nil {
		return nil
	}
	rev, err := strconv.ParseUint(m.Header.Get(hdrRev), 10, 64)
	if err != nil || rev == 0 {
		return nil
	}
	var sj storedJob
	if err := json.Unmarshal([]byte(m.Header.Get(hdrJob)), &sj); err != nil || sj.ID != id || sj.Gen != gen {
		return nil
	}
	return &cached{job: &sj.Job, gen: sj.Gen, rev: rev}
}
