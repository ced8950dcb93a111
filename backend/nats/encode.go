package nats

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// encodeJob encodes a stored job record. Its output is byte for byte what
// json.Marshal(sj) produces (encode_test.go checks it on every field of
// backend.Job, so a field added there fails the test until it is added
// here), so records written either way are the same. It exists because
// encoding/json's reflection was the largest client cost of a claim and a
// finish: each rewrites the whole record. Whenever a value is not plain (a
// string needing escapes, raw JSON that is not compact, a time outside
// years 0-9999), the record goes through json.Marshal instead.
func encodeJob(sj *storedJob) ([]byte, error) {
	if out, ok := appendJob(make([]byte, 0, 512+len(sj.Args)+len(sj.Result)+len(sj.Meta)+len(sj.Progress)), sj); ok {
		return out, nil
	}
	return json.Marshal(sj)
}

// appendJob appends sj's encoding to b; ok is false when a value is not
// plain (the caller then uses json.Marshal).
func appendJob(b []byte, sj *storedJob) (_ []byte, ok bool) {
	j := &sj.Job
	w := jsonWriter{b: b, ok: true}
	w.raw(`{"id":`)
	w.str(j.ID)
	w.raw(`,"kind":`)
	w.str(j.Kind)
	w.raw(`,"queue":`)
	w.str(j.Queue)
	w.raw(`,"args":`)
	w.rawJSON(j.Args)
	w.raw(`,"priority":`)
	w.int(int64(j.Priority))
	w.raw(`,"state":`)
	w.str(string(j.State))
	w.raw(`,"attempt":`)
	w.int(int64(j.Attempt))
	w.raw(`,"max_attempts":`)
	w.int(int64(j.MaxAttempts))
	w.raw(`,"timeout":`)
	w.int(int64(j.Timeout))
	w.raw(`,"run_at":`)
	w.time(j.RunAt)
	if j.UniqueKey != "" {
		w.raw(`,"unique_key":`)
		w.str(j.UniqueKey)
	}
	if len(j.UniqueStates) > 0 {
		w.raw(`,"unique_states":[`)
		for i, s := range j.UniqueStates {
			if i > 0 {
				w.raw(",")
			}
			w.str(string(s))
		}
		w.raw("]")
	}
	if len(j.Tags) > 0 {
		w.raw(`,"tags":[`)
		for i, s := range j.Tags {
			if i > 0 {
				w.raw(",")
			}
			w.str(s)
		}
		w.raw("]")
	}
	if len(j.Meta) > 0 {
		w.raw(`,"meta":`)
		w.rawJSON(j.Meta)
	}
	if len(j.Result) > 0 {
		w.raw(`,"result":`)
		w.rawJSON(j.Result)
	}
	if len(j.Errors) > 0 {
		w.raw(`,"errors":[`)
		for i, e := range j.Errors {
			if i > 0 {
				w.raw(",")
			}
			w.raw(`{"attempt":`)
			w.int(int64(e.Attempt))
			w.raw(`,"at":`)
			w.time(e.At)
			w.raw(`,"message":`)
			w.str(e.Message)
			if e.Stack != "" {
				w.raw(`,"stack":`)
				w.str(e.Stack)
			}
			w.raw("}")
		}
		w.raw("]")
	}
	if len(j.Progress) > 0 {
		w.raw(`,"progress":`)
		w.rawJSON(j.Progress)
	}
	w.raw(`,"enqueued_at":`)
	w.time(j.EnqueuedAt)
	if !j.StartedAt.IsZero() {
		w.raw(`,"started_at":`)
		w.time(j.StartedAt)
	}
	if !j.FinishedAt.IsZero() {
		w.raw(`,"finished_at":`)
		w.time(j.FinishedAt)
	}
	if j.LeaseOwner != "" {
		w.raw(`,"lease_owner":`)
		w.str(j.LeaseOwner)
	}
	if j.LeaseToken != "" {
		w.raw(`,"lease_token":`)
		w.str(j.LeaseToken)
	}
	if !j.LeaseExpiresAt.IsZero() {
		w.raw(`,"lease_expires_at":`)
		w.time(j.LeaseExpiresAt)
	}
	if j.CancelRequested {
		w.raw(`,"cancel_requested":true`)
	}
	if sj.Gen != 0 {
		w.raw(`,"ready_gen":`)
		w.int(sj.Gen)
	}
	w.raw("}")
	return w.b, w.ok
}

// jsonWriter appends JSON values; ok turns false at the first value it
// does not encode exactly as encoding/json does.
type jsonWriter struct {
	b  []byte
	ok bool
}

func (w *jsonWriter) raw(s string) { w.b = append(w.b, s...) }

func (w *jsonWriter) int(n int64) { w.b = strconv.AppendInt(w.b, n, 10) }

// str writes a string that needs no escaping: printable ASCII other than
// '"', '\\', '<', '>' and '&' (which encoding/json escapes for HTML).
func (w *jsonWriter) str(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			w.ok = false
			return
		}
	}
	w.b = append(append(append(w.b, '"'), s...), '"')
}

// time writes t as time.Time.MarshalJSON does (RFC 3339 with
// nanoseconds), for years 0-9999, which it alone accepts.
func (w *jsonWriter) time(t time.Time) {
	if y := t.Year(); y < 0 || y > 9999 {
		w.ok = false
		return
	}
	if _, off := t.Zone(); off%60 != 0 {
		// MarshalJSON refuses offsets with seconds; let it say so.
		w.ok = false
		return
	}
	w.b = append(t.AppendFormat(append(w.b, '"'), time.RFC3339Nano), '"')
}

// rawJSON writes raw JSON that encoding/json would copy unchanged: valid,
// compact (no whitespace outside strings) and free of the characters it
// escapes for HTML ('<', '>', '&', U+2028, U+2029). nil is null.
func (w *jsonWriter) rawJSON(r json.RawMessage) {
	if r == nil {
		w.raw("null")
		return
	}
	inStr := false
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case c == '<' || c == '>' || c == '&' || c >= utf8.RuneSelf:
			// Non-ASCII may be U+2028/U+2029 or invalid UTF-8, both
			// rewritten by encoding/json: not plain.
			w.ok = false
			return
		case inStr && c == '\\':
			i++ // the escaped character cannot end the string
		case c == '"':
			inStr = !inStr
		case !inStr && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			w.ok = false
			return
		}
	}
	if !json.Valid(r) {
		w.ok = false // json.Marshal reports the error
		return
	}
	w.b = append(w.b, r...)
}
