package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"conveyor"
)

// readBody reads a request body that the limit middleware already capped,
// turning the cap into 413.
func readBody(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errorf(http.StatusRequestEntityTooLarge, CodeTooLarge, "request body larger than %d bytes", mbe.Limit)
		}
		return nil, errorf(http.StatusBadRequest, CodeBadRequest, "reading request body: %v", err)
	}
	return data, nil
}

// decodeJSON decodes exactly one JSON value from data into v, refusing
// unknown fields. Its errors are 400s that say where the problem is: the byte
// offset of a syntax error, the field of a type error, the name of an
// unknown field.
func decodeJSON(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return errorf(http.StatusBadRequest, CodeInvalidJSON, "request body is empty; expected a JSON value")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, data)
	}
	// One value only: trailing garbage usually means two requests were glued
	// together or a quote is missing, and silently ignoring it would hide that.
	off := dec.InputOffset()
	if rest := bytes.TrimLeft(data[off:], " \t\r\n"); len(rest) > 0 {
		return errorf(http.StatusBadRequest, CodeInvalidJSON, "malformed JSON: unexpected data after the JSON value at byte offset %d", len(data)-len(rest))
	}
	return nil
}

// jsonError turns an encoding/json error into a 400 naming the position or
// the field.
func jsonError(err error, data []byte) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		// Offset counts the bytes read, the bad one included; report the
		// 0-based offset of the bad byte and show it in context.
		off := max(se.Offset-1, 0)
		return errorf(http.StatusBadRequest, CodeInvalidJSON, "malformed JSON at byte offset %d (near %q): %s", off, excerpt(data, off), trimJSONPrefix(se.Error()))
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return errorf(http.StatusBadRequest, CodeInvalidJSON, "malformed JSON at byte offset %d: unexpected end of input", len(data))
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return errorf(http.StatusBadRequest, CodeInvalidJSON, "wrong JSON type at byte offset %d: got %s, want %s", te.Offset, te.Value, jsonTypeName(te.Type.String()))
		}
		return errorf(http.StatusBadRequest, CodeInvalidJSON, "field %q: got JSON %s, want %s (byte offset %d)", field, te.Value, jsonTypeName(te.Type.String()), te.Offset)
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return errorf(http.StatusBadRequest, CodeUnknownField, "unknown field %s", name)
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return errorf(http.StatusBadRequest, CodeInvalidJSON, "invalid JSON: %s", trimJSONPrefix(msg))
}

// excerpt returns a few bytes of data around off.
func excerpt(data []byte, off int64) string {
	lo, hi := max(off-10, 0), min(off+10, int64(len(data)))
	if lo > hi {
		return ""
	}
	return string(data[lo:hi])
}

func trimJSONPrefix(s string) string { return strings.TrimPrefix(s, "json: ") }

// jsonTypeName names a Go type in JSON terms for error messages.
func jsonTypeName(goType string) string {
	switch {
	case goType == "string" || strings.HasSuffix(goType, "JobState"):
		return "string"
	case strings.HasPrefix(goType, "int") || strings.HasPrefix(goType, "uint") || strings.HasPrefix(goType, "float"):
		return "number"
	case goType == "bool":
		return "boolean"
	case strings.HasPrefix(goType, "[]"):
		return "array"
	case strings.HasPrefix(goType, "time.Time"):
		return "RFC 3339 time string"
	default:
		return "object"
	}
}

// EnqueueRequest is the body of POST /api/v1/jobs (or one element of a JSON
// array of them). Durations are a Go duration string ("1m30s") or a number
// of seconds.
type EnqueueRequest struct {
	Kind         string              `json:"kind"`
	Args         json.RawMessage     `json:"args,omitempty"`
	Queue        string              `json:"queue,omitempty"`
	Priority     int                 `json:"priority,omitempty"`
	RunAt        *time.Time          `json:"run_at,omitempty"`
	Delay        json.RawMessage     `json:"delay,omitempty"`
	MaxAttempts  int                 `json:"max_attempts,omitempty"`
	Timeout      json.RawMessage     `json:"timeout,omitempty"`
	UniqueKey    string              `json:"unique_key,omitempty"`
	UniqueStates []conveyor.JobState `json:"unique_states,omitempty"`
	UniqueWindow json.RawMessage     `json:"unique_window,omitempty"`
	Tags         []string            `json:"tags,omitempty"`
	Meta         json.RawMessage     `json:"meta,omitempty"`
}

// DecodeEnqueue decodes the body of POST /api/v1/jobs: one EnqueueRequest
// object, or a JSON array of them (a batch). batch reports which one it was.
// It is exported for the fuzz tests and for tools that accept the same
// format.
func DecodeEnqueue(data []byte) (reqs []conveyor.EnqueueRequest, batch bool, err error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	var raw []EnqueueRequest
	if len(trimmed) > 0 && trimmed[0] == '[' {
		batch = true
		if err := decodeJSON(data, &raw); err != nil {
			return nil, true, err
		}
		if len(raw) == 0 {
			return nil, true, errorf(http.StatusBadRequest, CodeInvalidJob, "the batch is empty; give at least one job")
		}
	} else {
		var one EnqueueRequest
		if err := decodeJSON(data, &one); err != nil {
			return nil, false, err
		}
		raw = []EnqueueRequest{one}
	}
	reqs = make([]conveyor.EnqueueRequest, len(raw))
	for i := range raw {
		r, err := raw[i].toClient()
		if err != nil {
			if batch {
				err = errorf(http.StatusBadRequest, CodeInvalidJob, "job %d: %s", i, err.Error())
			}
			return nil, batch, err
		}
		reqs[i] = r
	}
	return reqs, batch, nil
}

// toClient converts the wire form to the client's request, parsing durations.
func (e *EnqueueRequest) toClient() (conveyor.EnqueueRequest, error) {
	opts := &conveyor.EnqueueOptions{
		Queue:        e.Queue,
		Priority:     e.Priority,
		MaxAttempts:  e.MaxAttempts,
		UniqueKey:    e.UniqueKey,
		UniqueStates: e.UniqueStates,
		Tags:         e.Tags,
	}
	if e.RunAt != nil {
		if err := checkTimeRange("run_at", *e.RunAt); err != nil {
			return conveyor.EnqueueRequest{}, err
		}
		opts.RunAt = *e.RunAt
	}
	var err error
	if opts.Delay, err = parseDuration("delay", e.Delay); err != nil {
		return conveyor.EnqueueRequest{}, err
	}
	if opts.Timeout, err = parseDuration("timeout", e.Timeout); err != nil {
		return conveyor.EnqueueRequest{}, err
	}
	if opts.UniqueWindow, err = parseDuration("unique_window", e.UniqueWindow); err != nil {
		return conveyor.EnqueueRequest{}, err
	}
	if !isNull(e.Meta) {
		opts.Meta = e.Meta
	}
	var args any // nil becomes {} in the client
	if !isNull(e.Args) {
		args = e.Args
	}
	return conveyor.EnqueueRequest{Kind: e.Kind, Args: args, Options: opts}, nil
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// Times the API accepts. Backends store Unix nanoseconds (int64), which
// cover 1677 to 2262; a time outside would wrap around silently (a run_at in
// 2999 could come back in the past and run at once), so it is refused here.
var (
	minTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

func checkTimeRange(field string, t time.Time) error {
	if t.Before(minTime) || !t.Before(maxTime) {
		return errorf(http.StatusBadRequest, CodeInvalidJob, "field %q: %s is out of range (1970 to 2199)", field, t.Format(time.RFC3339))
	}
	return nil
}

// maxDuration bounds durations given in seconds so the conversion to
// time.Duration cannot overflow (about 292 years is the real limit).
const maxDuration = 100 * 365 * 24 * time.Hour

// parseDuration reads a duration field: a Go duration string or a number of
// seconds. Absent or null is zero.
func parseDuration(field string, raw json.RawMessage) (time.Duration, error) {
	if isNull(raw) {
		return 0, nil
	}
	t := bytes.TrimSpace(raw)
	if t[0] == '"' {
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return 0, errorf(http.StatusBadRequest, CodeInvalidJSON, "field %q: %v", field, err)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, errorf(http.StatusBadRequest, CodeInvalidJob, "field %q: %q is not a duration (want e.g. \"90s\", \"1m30s\" or a number of seconds)", field, s)
		}
		return d, nil
	}
	secs, err := strconv.ParseFloat(string(t), 64)
	if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) {
		return 0, errorf(http.StatusBadRequest, CodeInvalidJob, "field %q: want a duration string or a number of seconds, got %s", field, truncate(string(t), 40))
	}
	if math.Abs(secs) > maxDuration.Seconds() {
		return 0, errorf(http.StatusBadRequest, CodeInvalidJob, "field %q: %s seconds is out of range", field, truncate(string(t), 40))
	}
	return time.Duration(secs * float64(time.Second)), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// formatDuration is the inverse of parseDuration's string form.
func formatDuration(d time.Duration) string { return d.String() }
