package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"conveyor/backend"
)

// Optimistic concurrency for schedules and webhooks (RFC 9110 §8.8.3,
// §13.1.1): one record's answers carry ETag "<n>": a webhook's record
// version (it changes with every write), a schedule's definition revision
// (it changes when the definition is written, not when the schedule fires;
// see schedule.Entry). PUT and DELETE take If-Match with that tag, and the
// store compares it in its compare-and-set write, so an edit made in
// between answers 412 instead of being overwritten. Without If-Match,
// writes stay unconditional, as before.

// setETag sets the ETag of a record at version.
func setETag(w http.ResponseWriter, version int64) {
	w.Header().Set("ETag", `"`+strconv.FormatInt(version, 10)+`"`)
}

// ifMatch reads the request's If-Match. It returns backend.AnyVersion and
// present false without one; backend.AnyVersion and present true for "*"
// (the record must exist); else the version the tag names. Anything but one
// strong tag holding a version, or "*", is a 400 naming the header: weak
// tags never match (If-Match compares strongly), and the API's tags are
// single versions, so a list of them is refused rather than half-read.
func ifMatch(r *http.Request) (version int64, present bool, err error) {
	values := r.Header.Values("If-Match")
	if len(values) == 0 {
		return backend.AnyVersion, false, nil
	}
	raw := strings.TrimSpace(strings.Join(values, ","))
	if raw == "*" {
		return backend.AnyVersion, true, nil
	}
	bad := func(why string) error {
		return errorf(http.StatusBadRequest, CodeBadRequest, "If-Match %q: %s; send the ETag of the record as read, e.g. If-Match: \"3\", or *", raw, why)
	}
	if strings.HasPrefix(raw, "W/") {
		return 0, false, bad("a weak entity tag never matches (If-Match compares strong tags)")
	}
	if strings.Contains(raw, ",") {
		return 0, false, bad("give one entity tag, not a list")
	}
	inner, ok := strings.CutPrefix(raw, `"`)
	if ok {
		inner, ok = strings.CutSuffix(inner, `"`)
	}
	if !ok {
		return 0, false, bad("not a quoted entity tag")
	}
	// Digits only: "-1" must not turn into backend.AnyVersion; and no
	// leading zero, since tags compare as strings ("01" is not "1").
	if inner == "" || strings.TrimLeft(inner, "0123456789") != "" || len(inner) > 1 && inner[0] == '0' {
		return 0, false, bad("the tag is not a record version")
	}
	v, err := strconv.ParseInt(inner, 10, 64)
	if err != nil {
		return 0, false, bad("the tag is not a record version")
	}
	return v, true, nil
}

// preconditionErr turns a conditional write's failure into the 412 answer:
// the version differs (backend.ErrConflict, whose message names the current
// version) or, where the write would otherwise have succeeded, the record
// is gone. what names the record in the latter message.
func preconditionErr(err error, what string) error {
	switch {
	case errors.Is(err, backend.ErrConflict):
		return errorf(http.StatusPreconditionFailed, CodePreconditionFailed, "%v; read it again and retry with its ETag", err)
	case errors.Is(err, backend.ErrNotFound):
		return errorf(http.StatusPreconditionFailed, CodePreconditionFailed, "If-Match: %s does not exist (any more)", what)
	}
	return err
}
