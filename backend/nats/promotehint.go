package nats

import (
	"context"
	"math"
	"sync"
)

// JobPromote lists the scheduled index (a KV watch: a consumer created and
// deleted on the server) on every call, and the promoter calls it every
// 200 ms in every worker process, also when nothing is scheduled. That
// listing showed up as 13-30 ms stalls beside enqueues and claims. So
// JobPromote remembers, after a listing that left no due key behind, the
// index stream's last sequence and the earliest due time of the keys it
// saw; while the stream's last sequence is unchanged (no key written or
// deleted since, checked with one stream-info request) and that due time
// has not come, nothing can be due and the listing is skipped.

// promoteHint is what the last complete listing of the scheduled index saw.
type promoteHint struct {
	mu      sync.Mutex
	valid   bool
	lastSeq uint64
	nextDue int64 // unix ms of the earliest key not due then (MaxInt64: none)
}

// skip reports whether a listing at nowMS, with the index stream at
// lastSeq, can find nothing due.
func (h *promoteHint) skip(lastSeq uint64, nowMS int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.valid && h.lastSeq == lastSeq && nowMS < h.nextDue
}

// set records a listing that left no due key behind; clear one that did.
func (h *promoteHint) set(lastSeq uint64, nextDue int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.valid, h.lastSeq, h.nextDue = true, lastSeq, nextDue
}

func (h *promoteHint) clear() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.valid = false
}

// schedLastSeq is the scheduled index's last stream sequence.
func (b *Backend) schedLastSeq(ctx context.Context) (uint64, error) {
	s, err := b.js.Stream(ctx, "KV_"+b.names.schedBucket())
	if err != nil {
		return 0, b.wrap("scheduled index state", err)
	}
	return s.CachedInfo().State.LastSeq, nil
}

// earliestAfter is the earliest due time (unix ms) after nowMS among keys
// (MaxInt64 when none).
func earliestAfter(keys []indexKey, nowMS int64) int64 {
	next := int64(math.MaxInt64)
	for _, k := range keys {
		if ms, _, ok := parseSchedKey(k.key); ok && ms > nowMS {
			next = min(next, ms)
		}
	}
	return next
}
