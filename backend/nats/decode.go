package nats

import (
	"encoding/json"
	"strconv"
	"time"

	"conveyor/backend"
)

// decodeJob decodes a stored job record into sj (which must be zero) with
// the same result as json.Unmarshal (decode_test.go compares them). It reads
// the layout encodeJob writes (its keys in its order, plain strings, no
// whitespace) without reflection, and hands anything else to
// json.Unmarshal: a claim decodes the record its ready message carries, and
// encoding/json's reflection was a tenth of a claim+finish's client CPU.
func decodeJob(data []byte, sj *storedJob) error {
	d := jsonReader{b: data}
	if d.job(sj) && d.i == len(d.b) {
		return nil
	}
	*sj = storedJob{}
	return json.Unmarshal(data, sj)
}

// jsonReader reads the fixed layout of encodeJob; any surprise returns
// false and the caller falls back to encoding/json.
type jsonReader struct {
	b []byte
	i int
}

// lit consumes s if the input continues with it.
func (d *jsonReader) lit(s string) bool {
	if len(d.b)-d.i < len(s) || string(d.b[d.i:d.i+len(s)]) != s {
		return false
	}
	d.i += len(s)
	return true
}

// str reads a string of printable ASCII without escapes.
func (d *jsonReader) str() (string, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return "", false
	}
	for k := d.i + 1; k < len(d.b); k++ {
		switch c := d.b[k]; {
		case c == '"':
			s := string(d.b[d.i+1 : k])
			d.i = k + 1
			return s, true
		case c < 0x20 || c > 0x7e || c == '\\':
			return "", false
		}
	}
	return "", false
}

// int reads an integer.
func (d *jsonReader) int() (int64, bool) {
	k := d.i
	if k < len(d.b) && d.b[k] == '-' {
		k++
	}
	start := k
	for k < len(d.b) && d.b[k] >= '0' && d.b[k] <= '9' {
		k++
	}
	if k == start || k < len(d.b) && (d.b[k] == '.' || d.b[k] == 'e' || d.b[k] == 'E') {
		return 0, false
	}
	n, err := strconv.ParseInt(string(d.b[d.i:k]), 10, 64)
	if err != nil {
		return 0, false
	}
	d.i = k
	return n, true
}

// time reads a time as time.Time.UnmarshalJSON does.
func (d *jsonReader) time() (time.Time, bool) {
	start := d.i
	if _, ok := d.str(); !ok {
		return time.Time{}, false
	}
	var t time.Time
	if err := t.UnmarshalJSON(d.b[start:d.i]); err != nil {
		return time.Time{}, false
	}
	return t, true
}

// raw reads one JSON value (validated) and returns a copy of its bytes.
// The value ends at the first ',', '}' or ']' outside strings and outside
// the value's own brackets.
func (d *jsonReader) raw() (json.RawMessage, bool) {
	k, depth := d.i, 0
	for k < len(d.b) {
		c := d.b[k]
		if c == '"' {
			for k++; k < len(d.b) && d.b[k] != '"'; k++ {
				if d.b[k] == '\\' {
					k++
				}
			}
			k++ // the closing quote
		} else if c == '{' || c == '[' {
			depth++
			k++
		} else if c == '}' || c == ']' {
			if depth == 0 {
				break
			}
			depth--
			k++
		} else if c == ',' && depth == 0 {
			break
		} else {
			k++
		}
	}
	if k > len(d.b) || k == d.i || !json.Valid(d.b[d.i:k]) {
		return nil, false
	}
	v := append(json.RawMessage(nil), d.b[d.i:k]...)
	d.i = k
	return v, true
}

// strs reads a non-empty array of plain strings.
func (d *jsonReader) strs() ([]string, bool) {
	if !d.lit("[") {
		return nil, false
	}
	var out []string
	for {
		s, ok := d.str()
		if !ok {
			return nil, false
		}
		out = append(out, s)
		if d.lit("]") {
			return out, true
		}
		if !d.lit(",") {
			return nil, false
		}
	}
}

// job reads a record in encodeJob's layout.
func (d *jsonReader) job(sj *storedJob) bool {
	j := &sj.Job
	var ok bool
	var n int64
	var s string
	if !d.lit(`{"id":`) {
		return false
	}
	if j.ID, ok = d.str(); !ok || !d.lit(`,"kind":`) {
		return false
	}
	if j.Kind, ok = d.str(); !ok || !d.lit(`,"queue":`) {
		return false
	}
	if j.Queue, ok = d.str(); !ok || !d.lit(`,"args":`) {
		return false
	}
	if j.Args, ok = d.raw(); !ok || !d.lit(`,"priority":`) {
		return false
	}
	if n, ok = d.int(); !ok || int64(int(n)) != n || !d.lit(`,"state":`) {
		return false
	}
	j.Priority = int(n)
	if s, ok = d.str(); !ok || !d.lit(`,"attempt":`) {
		return false
	}
	j.State = backend.JobState(s)
	if n, ok = d.int(); !ok || int64(int(n)) != n || !d.lit(`,"max_attempts":`) {
		return false
	}
	j.Attempt = int(n)
	if n, ok = d.int(); !ok || int64(int(n)) != n || !d.lit(`,"timeout":`) {
		return false
	}
	j.MaxAttempts = int(n)
	if n, ok = d.int(); !ok || !d.lit(`,"run_at":`) {
		return false
	}
	j.Timeout = time.Duration(n)
	if j.RunAt, ok = d.time(); !ok {
		return false
	}
	if d.lit(`,"unique_key":`) {
		if j.UniqueKey, ok = d.str(); !ok {
			return false
		}
	}
	if d.lit(`,"unique_states":`) {
		ss, ok := d.strs()
		if !ok {
			return false
		}
		j.UniqueStates = make([]backend.JobState, len(ss))
		for i, s := range ss {
			j.UniqueStates[i] = backend.JobState(s)
		}
	}
	if d.lit(`,"tags":`) {
		if j.Tags, ok = d.strs(); !ok {
			return false
		}
	}
	if d.lit(`,"meta":`) {
		if j.Meta, ok = d.raw(); !ok {
			return false
		}
	}
	if d.lit(`,"result":`) {
		if j.Result, ok = d.raw(); !ok {
			return false
		}
	}
	if d.lit(`,"errors":[`) {
		for {
			var e backend.AttemptError
			if !d.lit(`{"attempt":`) {
				return false
			}
			if n, ok = d.int(); !ok || int64(int(n)) != n || !d.lit(`,"at":`) {
				return false
			}
			e.Attempt = int(n)
			if e.At, ok = d.time(); !ok || !d.lit(`,"message":`) {
				return false
			}
			if e.Message, ok = d.str(); !ok {
				return false
			}
			if d.lit(`,"stack":`) {
				if e.Stack, ok = d.str(); !ok {
					return false
				}
			}
			if !d.lit("}") {
				return false
			}
			j.Errors = append(j.Errors, e)
			if d.lit("]") {
				break
			}
			if !d.lit(",") {
				return false
			}
		}
	}
	if d.lit(`,"progress":`) {
		if j.Progress, ok = d.raw(); !ok {
			return false
		}
	}
	if !d.lit(`,"enqueued_at":`) {
		return false
	}
	if j.EnqueuedAt, ok = d.time(); !ok {
		return false
	}
	if d.lit(`,"started_at":`) {
		if j.StartedAt, ok = d.time(); !ok {
			return false
		}
	}
	if d.lit(`,"finished_at":`) {
		if j.FinishedAt, ok = d.time(); !ok {
			return false
		}
	}
	if d.lit(`,"lease_owner":`) {
		if j.LeaseOwner, ok = d.str(); !ok {
			return false
		}
	}
	if d.lit(`,"lease_token":`) {
		if j.LeaseToken, ok = d.str(); !ok {
			return false
		}
	}
	if d.lit(`,"lease_expires_at":`) {
		if j.LeaseExpiresAt, ok = d.time(); !ok {
			return false
		}
	}
	if d.lit(`,"cancel_requested":true`) {
		j.CancelRequested = true
	}
	if d.lit(`,"ready_gen":`) {
		if sj.Gen, ok = d.int(); !ok {
			return false
		}
	}
	return d.lit("}")
}
