package redis

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"conveyor/backend"
)

// staticData is the part of a job record that never changes after enqueue,
// stored as one compact JSON value in the job hash's "d" field. Args and meta
// are stored verbatim in their own fields (x, m) so their bytes round-trip
// exactly. The fields the scripts need (kind, priority, max attempts, unique
// states) are also stored as their own hash fields.
type staticData struct {
	Kind         string             `json:"k"`
	Priority     int                `json:"p,omitempty"`
	Timeout      int64              `json:"t,omitempty"` // ns
	UniqueKey    string             `json:"uk,omitempty"`
	UniqueStates []backend.JobState `json:"us,omitempty"`
	Tags         []string           `json:"tg,omitempty"`
	EnqueuedAt   int64              `json:"ea"` // ns
}

// Job hash fields (see doc.go): d static data, x args, m meta, k kind, p priority, ma max
// attempts, a attempt, s state, r run_at (ns), rs run_at (17-digit µs),
// uk unique key, us unique states (",a,b,"), res result, e errors (JSON
// array), pg progress, st started_at (ns), ft finished_at (ns), lo/lt/le
// lease owner/token/expiry (ns), cr cancel
// requested ("1").

// uniqueStatesString renders the states in which a job holds its unique key
// in the ",a,b," form the scripts search with string.find.
func uniqueStatesString(states []backend.JobState) string {
	if len(states) == 0 {
		states = backend.DefaultUniqueStates
	}
	var sb strings.Builder
	sb.WriteByte(',')
	for _, s := range states {
		sb.WriteString(string(s))
		sb.WriteByte(',')
	}
	return sb.String()
}

// enqueueValues returns the 13 ARGV values of one job for enqueue.lua.
func enqueueValues(j *backend.JobInsert, now time.Time) ([]any, error) {
	if j == nil {
		return nil, fmt.Errorf("enqueue: nil job")
	}
	if j.ID == "" || strings.ContainsAny(j.ID, "|}") {
		return nil, fmt.Errorf("enqueue: invalid job id %q", j.ID)
	}
	if j.Queue == "" || strings.ContainsAny(j.Queue, "{}|") {
		return nil, fmt.Errorf("enqueue: invalid queue name %q", j.Queue)
	}
	d, err := json.Marshal(staticData{
		Kind: j.Kind, Priority: j.Priority, Timeout: int64(j.Timeout),
		UniqueKey: j.UniqueKey, UniqueStates: j.UniqueStates, Tags: j.Tags,
		EnqueuedAt: now.UnixNano(),
	})
	if err != nil {
		return nil, fmt.Errorf("enqueue %s: encode: %w", j.ID, err)
	}
	us := ""
	if j.UniqueKey != "" {
		us = uniqueStatesString(j.UniqueStates)
	}
	runAt := j.RunAt
	if runAt.IsZero() {
		runAt = now
	}
	// Scheduled when due after Now, at the microsecond resolution claim and
	// promote compare with.
	scheduled := 0
	if runAt.UnixMicro() > now.UnixMicro() {
		scheduled = 1
	}
	return []any{j.ID, d, j.Kind, j.Priority, j.MaxAttempts, nsStr(runAt), usStr(runAt), rsStr(runAt),
		j.UniqueKey, us, []byte(j.Args), []byte(j.Meta), scheduled}, nil
}

// fieldsMap turns an HGETALL-form reply (field, value, ...) into a map.
func fieldsMap(v []any) map[string]string {
	m := make(map[string]string, len(v)/2)
	for i := 0; i+1 < len(v); i += 2 {
		f, _ := v[i].(string)
		val, _ := v[i+1].(string)
		m[f] = val
	}
	return m
}

// decodeJob builds a Job from its hash fields.
func decodeJob(id, queue string, f map[string]string) (*backend.Job, error) {
	var d staticData
	if err := json.Unmarshal([]byte(f["d"]), &d); err != nil {
		return nil, fmt.Errorf("decode job %s: %w", id, err)
	}
	j := &backend.Job{
		ID:              id,
		Kind:            d.Kind,
		Queue:           queue,
		Args:            rawOrNil(f["x"]),
		Priority:        d.Priority,
		State:           backend.JobState(f["s"]),
		Attempt:         atoi(f["a"]),
		MaxAttempts:     atoi(f["ma"]),
		Timeout:         time.Duration(d.Timeout),
		RunAt:           parseNs(f["r"]),
		UniqueKey:       d.UniqueKey,
		UniqueStates:    d.UniqueStates,
		Tags:            d.Tags,
		Meta:            rawOrNil(f["m"]),
		EnqueuedAt:      time.Unix(0, d.EnqueuedAt).UTC(),
		StartedAt:       parseNs(f["st"]),
		FinishedAt:      parseNs(f["ft"]),
		LeaseOwner:      f["lo"],
		LeaseToken:      f["lt"],
		LeaseExpiresAt:  parseNs(f["le"]),
		CancelRequested: f["cr"] == "1",
	}
	if j.State != backend.StateRunning {
		// Lease fields are left behind when a job stops running.
		j.LeaseOwner, j.LeaseToken, j.LeaseExpiresAt = "", "", time.Time{}
	}
	j.Result = rawOrNil(f["res"])
	j.Progress = rawOrNil(f["pg"])
	if v := f["e"]; v != "" {
		if err := json.Unmarshal([]byte(v), &j.Errors); err != nil {
			return nil, fmt.Errorf("decode job %s errors: %w", id, err)
		}
	}
	return j, nil
}

func rawOrNil(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// Lease tokens name their queue ("QUEUE|RANDOM.N") so that finish and lease
// extension, which receive only IDs and tokens, find the job's slot without
// a lookup. Queue names cannot contain '|'.
func queueOfToken(token string) (string, bool) {
	i := strings.LastIndexByte(token, '|')
	if i <= 0 {
		return "", false
	}
	return token[:i], true
}
