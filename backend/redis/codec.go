package redis

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"conveyor/backend"
)

// staticData is the part of a job record that never changes after enqueue.
// It is stored as compact JSON in the job hash's "d" field; the args ("g")
// and meta ("m") are fields of their own, kept byte for byte. Keeping each
// value short matters: a hash whose values all fit the server's
// hash-max-listpack-value (64 bytes by default) is a compact listpack,
// much cheaper to read and write than the hashtable a longer value forces.
// Records written before this split framed the three into "d" (see
// decodeStatic); they are still read. The fields the scripts need
// (priority, max attempts, unique states) are also stored as their own
// hash fields.
type staticData struct {
	Kind         string             `json:"k"`
	Priority     int                `json:"p,omitempty"`
	Timeout      int64              `json:"t,omitempty"` // ns
	UniqueKey    string             `json:"uk,omitempty"`
	UniqueStates []backend.JobState `json:"us,omitempty"`
	Tags         []string           `json:"tg,omitempty"`
	EnqueuedAt   int64              `json:"ea"` // ns
}

// Job hash fields (see doc.go): d static JSON, g args, m meta, p priority,
// ma max attempts, a attempt, s state, r run_at (ns), rs run_at (17-digit
// µs), uk unique key, us unique states (",a,b,"), res result, e errors
// (JSON array), pg progress, ft finished_at (ns), lt lease token, L
// "STARTED_NS|LEASE_EXPIRY_NS|OWNER" (the claim's other fields in one), cr
// cancel requested ("1").

// encodeStatic frames the static JSON, the args and the meta into one value:
// "LEN(json):LEN(args):" then the three byte strings (the layout before the
// split into d, g and m; kept to build such records in tests).
func encodeStatic(d, args, meta []byte) []byte {
	out := make([]byte, 0, len(d)+len(args)+len(meta)+16)
	out = strconv.AppendInt(out, int64(len(d)), 10)
	out = append(out, ':')
	out = strconv.AppendInt(out, int64(len(args)), 10)
	out = append(out, ':')
	out = append(out, d...)
	out = append(out, args...)
	return append(out, meta...)
}

// decodeStatic splits what encodeStatic framed.
func decodeStatic(v string) (d, args, meta string, err error) {
	a, rest, ok1 := strings.Cut(v, ":")
	b, rest, ok2 := strings.Cut(rest, ":")
	na, err1 := strconv.Atoi(a)
	nb, err2 := strconv.Atoi(b)
	if !ok1 || !ok2 || err1 != nil || err2 != nil || na < 0 || nb < 0 || na+nb > len(rest) {
		return "", "", "", fmt.Errorf("malformed static data")
	}
	return rest[:na], rest[na : na+nb], rest[na+nb:], nil
}

// leaseField renders the L field: started_at, lease expiry, owner.
func leaseField(started, expires time.Time, owner string) string {
	return nsStr(started) + "|" + nsStr(expires) + "|" + owner
}

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

// enqueueArgs is how many ARGV values enqueue.lua takes per job.
const enqueueArgs = 12

// appendEnqueueValues appends the 12 ARGV values of one job for
// enqueue.lua to dst (one slice for all of a call's jobs, rather than one
// per job).
func appendEnqueueValues(dst []any, j *backend.JobInsert, now time.Time) ([]any, error) {
	if j == nil {
		return nil, fmt.Errorf("enqueue: nil job")
	}
	// '{' and '}' would break the job's hash tag (lookupQueue refuses
	// them), '|' the running-set member, NUL the claim-body member.
	if j.ID == "" || strings.ContainsAny(j.ID, "|{}\x00") {
		return nil, fmt.Errorf("enqueue: invalid job id %q", j.ID)
	}
	if j.Queue == "" || strings.ContainsAny(j.Queue, "{}|") {
		return nil, fmt.Errorf("enqueue: invalid queue name %q", j.Queue)
	}
	d := appendStatic(make([]byte, 0, 64), &staticData{
		Kind: j.Kind, Priority: j.Priority, Timeout: int64(j.Timeout),
		UniqueKey: j.UniqueKey, UniqueStates: j.UniqueStates, Tags: j.Tags,
		EnqueuedAt: now.UnixNano(),
	})
	us := ""
	if j.UniqueKey != "" {
		us = uniqueStatesString(j.UniqueStates)
	}
	runAt := j.RunAt
	if runAt.IsZero() {
		runAt = now
	}
	// Scheduled when due after Now, as on every backend, even by less than
	// the microsecond claim and promote compare with (it is then promoted
	// by the next claim).
	scheduled := 0
	if runAt.After(now) {
		scheduled = 1
	}
	runNs := nsStr(runAt)
	head := "" // no claim body: a large job is claimed from its hash
	if len(d)+len(j.Args)+len(j.Meta) <= bodyMax {
		head = bodyHead(runNs, j.MaxAttempts, len(d), len(j.Args))
	}
	return append(dst, j.ID, d, []byte(j.Args), []byte(j.Meta), j.Priority, j.MaxAttempts, runNs, rsStr(runAt),
		j.UniqueKey, us, scheduled, head), nil
}

// bodyMax bounds the static JSON, args and meta a claim body carries (a
// queued job's ready-set member holds a copy of them until it is claimed;
// see doc.go): larger jobs are claimed from their hash instead.
const bodyMax = 1024

// bodyHead is the start of a job's claim body ("RUN_NS|MAX_ATTEMPTS|" and
// the encodeStatic frame "LEN:LEN:"); enqueue.lua appends the static JSON,
// args and meta, so they cross the wire once.
func bodyHead(runNs string, maxAttempts, lenStatic, lenArgs int) string {
	out := make([]byte, 0, len(runNs)+24)
	out = append(out, runNs...)
	out = append(out, '|')
	out = strconv.AppendInt(out, int64(maxAttempts), 10)
	out = append(out, '|')
	out = strconv.AppendInt(out, int64(lenStatic), 10)
	out = append(out, ':')
	out = strconv.AppendInt(out, int64(lenArgs), 10)
	out = append(out, ':')
	return string(out)
}

// parseBody fills f from a claim body (see bodyHead): run_at, max attempts,
// static JSON, args and meta; the rest of a job never claimed since
// enqueue is at its initial value (attempt 0, no errors, result, progress
// or cancel request).
func parseBody(v string, f *jobFields) error {
	r, rest, ok1 := strings.Cut(v, "|")
	ma, rest, ok2 := strings.Cut(rest, "|")
	if !ok1 || !ok2 {
		return fmt.Errorf("malformed claim body")
	}
	d, args, meta, err := decodeStatic(rest)
	if err != nil {
		return err
	}
	f.r, f.ma, f.d, f.g, f.m = r, ma, d, args, meta
	return nil
}

// jobFields are the job hash fields decodeJob reads (see doc.go); an
// absent field is "".
type jobFields struct {
	d, g, m, s, a, ma, r, res, e, pg, ft, lt, L, cr string
	x                                               string // args of the first layout-1 builds (see static)
}

// set stores the value of the hash field name (unknown names are ignored).
func (f *jobFields) set(name, val string) {
	switch name {
	case "d":
		f.d = val
	case "g":
		f.g = val
	case "m":
		f.m = val
	case "s":
		f.s = val
	case "a":
		f.a = val
	case "ma":
		f.ma = val
	case "r":
		f.r = val
	case "res":
		f.res = val
	case "e":
		f.e = val
	case "pg":
		f.pg = val
	case "ft":
		f.ft = val
	case "lt":
		f.lt = val
	case "L":
		f.L = val
	case "cr":
		f.cr = val
	case "x":
		f.x = val
	}
}

// static returns the static JSON, args and meta of a record: its d, g and
// m fields, or the three framed in d by records written before the split
// (static JSON always starts with '{', a frame with a digit). The first
// layout-1 builds wrote plain JSON in d but the args in x, not g: with no
// g, x is the args (claim.lua returns x in g's place for such records).
func (f *jobFields) static() (d, args, meta string, err error) {
	if strings.HasPrefix(f.d, "{") {
		args = f.g
		if args == "" {
			args = f.x
		}
		return f.d, args, f.m, nil
	}
	return decodeStatic(f.d)
}

// fieldsFromPairs reads an HGETALL-form reply (field, value, ...).
func fieldsFromPairs(v []any) *jobFields {
	f := &jobFields{}
	for i := 0; i+1 < len(v); i += 2 {
		name, _ := v[i].(string)
		val, _ := v[i+1].(string)
		f.set(name, val)
	}
	return f
}

// decodeJob builds a Job from its hash fields.
func decodeJob(id, queue string, f *jobFields) (*backend.Job, error) {
	var dec jobDecoder
	return dec.decode(id, queue, f)
}

// jobDecoder decodes job records, remembering the last run_at and lease
// field it parsed: the jobs of one claim share the lease field, and jobs
// enqueued together share their run_at, so a claim parses each once.
type jobDecoder struct {
	runAtRaw, leaseRaw string
	runAt              time.Time
	lease              leaseParts
}

// leaseParts is the L field parsed ("STARTED_NS|EXPIRY_NS|OWNER").
type leaseParts struct {
	started, expires time.Time
	owner            string
}

func (dec *jobDecoder) parseRunAt(raw string) time.Time {
	if raw != dec.runAtRaw || dec.runAt.IsZero() {
		dec.runAtRaw, dec.runAt = raw, parseNs(raw)
	}
	return dec.runAt
}

func (dec *jobDecoder) parseLease(raw string) leaseParts {
	if raw != dec.leaseRaw || raw == "" {
		started, rest, _ := strings.Cut(raw, "|")
		expires, owner, _ := strings.Cut(rest, "|")
		dec.leaseRaw = raw
		dec.lease = leaseParts{started: parseNs(started), expires: parseNs(expires), owner: owner}
	}
	return dec.lease
}

// decode builds a Job from its hash fields.
func (dec *jobDecoder) decode(id, queue string, f *jobFields) (*backend.Job, error) {
	dj, args, meta, err := f.static()
	if err != nil {
		return nil, fmt.Errorf("decode job %s: %w", id, err)
	}
	var d staticData
	if err := parseStatic(dj, &d); err != nil {
		return nil, fmt.Errorf("decode job %s: %w", id, err)
	}
	lease := dec.parseLease(f.L)
	j := &backend.Job{
		ID:              id,
		Kind:            d.Kind,
		Queue:           queue,
		Args:            rawOrNil(args),
		Priority:        d.Priority,
		State:           backend.JobState(f.s),
		Attempt:         atoi(f.a),
		MaxAttempts:     atoi(f.ma),
		Timeout:         time.Duration(d.Timeout),
		RunAt:           dec.parseRunAt(f.r),
		UniqueKey:       d.UniqueKey,
		UniqueStates:    d.UniqueStates,
		Tags:            d.Tags,
		Meta:            rawOrNil(meta),
		EnqueuedAt:      time.Unix(0, d.EnqueuedAt).UTC(),
		StartedAt:       lease.started,
		FinishedAt:      parseNs(f.ft),
		LeaseOwner:      lease.owner,
		LeaseToken:      f.lt,
		LeaseExpiresAt:  lease.expires,
		CancelRequested: f.cr == "1",
	}
	if j.State != backend.StateRunning {
		// Lease fields are left behind when a job stops running.
		j.LeaseOwner, j.LeaseToken, j.LeaseExpiresAt = "", "", time.Time{}
	}
	j.Result = rawOrNil(f.res)
	j.Progress = rawOrNil(f.pg)
	if f.e != "" {
		if err := json.Unmarshal([]byte(f.e), &j.Errors); err != nil {
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

// atoi parses s, 0 when absent or unreadable (without the error value
// strconv builds for "", which a claim's fresh jobs would pay for).
func atoi(s string) int {
	if s == "" {
		return 0
	}
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

// runningMember returns the member of the queue's running set that stands
// for job id running under token ("QUEUE|RANDOM.N" -> "RANDOM.N|ID"; the
// part after the token's last '|' holds no '|', so the ID is everything after
// the member's first one). The queue is implied by the set.
func runningMember(token, id string) string {
	return token[strings.LastIndexByte(token, '|')+1:] + "|" + id
}

// kindOf returns the kind stored in a job's d field ("" if unreadable).
func kindOf(static string) string {
	dj, _, _, err := (&jobFields{d: static}).static()
	if err != nil {
		return ""
	}
	var d staticData
	_ = parseStatic(dj, &d)
	return d.Kind
}
