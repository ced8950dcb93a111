package memory

import (
	"encoding/json"
	"slices"
	"time"

	"conveyor/backend"
)

var timeZero time.Time

// cloneJobs deep-copies entries for handing to callers, with Job.Clone's
// semantics but batched allocations: one slice of Job values and one byte
// arena for every JSON field of the batch, instead of several allocations
// per job. Each JSON field gets a full slice expression, so a caller that
// appends to one cannot write into its neighbour. Callers hold b.mu.
func cloneJobs(es []*entry) []*backend.Job {
	size := 0
	for _, e := range es {
		size += len(e.Args) + len(e.Meta) + len(e.Result) + len(e.Progress)
	}
	arena := make([]byte, 0, size)
	vals := make([]backend.Job, len(es))
	out := make([]*backend.Job, len(es))
	for i, e := range es {
		j := &vals[i]
		*j = e.Job
		j.Args, arena = carve(arena, e.Args)
		j.Meta, arena = carve(arena, e.Meta)
		j.Result, arena = carve(arena, e.Result)
		j.Progress, arena = carve(arena, e.Progress)
		j.UniqueStates = slices.Clone(e.UniqueStates)
		j.Tags = slices.Clone(e.Tags)
		j.Errors = slices.Clone(e.Errors)
		out[i] = j
	}
	return out
}

// carve copies src to the end of arena and returns the copy (nil for nil)
// and the grown arena. arena has room: cloneJobs sized it.
func carve(arena []byte, src json.RawMessage) (json.RawMessage, []byte) {
	if src == nil {
		return nil, arena
	}
	start := len(arena)
	arena = append(arena, src...)
	return json.RawMessage(arena[start:len(arena):len(arena)]), arena
}

// cloneJob deep-copies one entry.
func cloneJob(e *entry) *backend.Job { return e.Job.Clone() }

// cloneRaw copies a JSON value so the store never aliases a caller's buffer.
func cloneRaw(m json.RawMessage) json.RawMessage {
	if m == nil {
		return nil
	}
	return slices.Clone(m)
}
