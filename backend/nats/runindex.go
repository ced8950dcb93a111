package nats

import (
	"context"
	"sync"

	"conveyor/backend"
)

// The running index (see runningWrites) lets JobRescue read only the
// records of recently claimed jobs. Its keys used to wait for JobRescue's
// sweep, which deletes a key only once it is staleIndexAge old: under a
// steady load every rescue run then re-read the record of every job
// claimed in the last minute (30 000 reads at 500 jobs/s, one burst every
// 5 s that stalled enqueues and claims on the same connection for tens of
// milliseconds). So this process also tracks the keys it wrote and deletes
// each one as soon as every lease it lists has ended here: finished, or
// found lost, through JobFinish or LeaseExtend. A lease is named by job ID
// and lease token, so a job claimed again by this process under a new
// lease keeps the new key. Keys of a process that stops before finishing
// its jobs are still swept by JobRescue.

// runIndex counts, per running-index key this process wrote, the leases it
// lists that have not ended here yet.
type runIndex struct {
	mu   sync.Mutex
	left map[string]int      // key -> leases not yet ended
	keys map[string][]string // lease -> keys listing it
}

// leaseName names a lease: job ID and lease token.
func leaseName(id, token string) string { return id + "\x00" + token }

// add records that key lists leases. It reports whether key lists none
// (it can go at once).
func (r *runIndex) add(key string, leases []string) bool {
	if len(leases) == 0 {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.left == nil {
		r.left, r.keys = map[string]int{}, map[string][]string{}
	}
	r.left[key] += len(leases)
	for _, l := range leases {
		r.keys[l] = append(r.keys[l], key)
	}
	return false
}

// end records that leases ended and returns the keys none of whose leases
// is left.
func (r *runIndex) end(leases []string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var done []string
	for _, l := range leases {
		for _, k := range r.keys[l] {
			r.left[k]--
			if r.left[k] == 0 {
				delete(r.left, k)
				done = append(done, k)
			}
		}
		delete(r.keys, l)
	}
	return done
}

// size is the number of keys tracked (tests).
func (r *runIndex) size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.left)
}

// trackClaimed registers the running-index keys a transition round wrote
// with the claims that succeeded, and deletes the keys that list none.
func (b *Backend) trackClaimed(ctx context.Context, keys []string, ok []*step) {
	if len(keys) == 0 {
		return
	}
	byKey := map[string][]string{}
	for _, s := range ok {
		if s.runKey != "" && s.job.State == backend.StateRunning {
			byKey[s.runKey] = append(byKey[s.runKey], leaseName(s.id, s.job.LeaseToken))
		}
	}
	var empty []string
	for _, k := range keys {
		if b.runIdx.add(k, byKey[k]) {
			empty = append(empty, k)
		}
	}
	b.dropRunningKeys(ctx, empty)
}

// endLeases records that leases ended here and deletes the running-index
// keys left with none.
func (b *Backend) endLeases(ctx context.Context, leases []string) {
	b.dropRunningKeys(ctx, b.runIdx.end(leases))
}

// dropRunningKeys deletes running-index keys (best effort: a key left
// behind is swept by JobRescue).
func (b *Backend) dropRunningKeys(ctx context.Context, keys []string) {
	if len(keys) == 0 {
		return
	}
	ws := make([]write, len(keys))
	for i, k := range keys {
		ws[i] = write{subject: kvSubject(b.names.runningBucket(), k), del: true, expect: expectNone}
	}
	b.writeAll(ctx, ws)
}
