package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"conveyor"
	"conveyor/backend"
)

// Error codes of the API's error bodies. They are stable: clients may switch
// on them.
const (
	CodeBadRequest         = "bad_request"         // 400: the request is malformed or invalid
	CodeInvalidJSON        = "invalid_json"        // 400: the body is not JSON or not the expected shape
	CodeUnknownField       = "unknown_field"       // 400: the body has a field the API does not know
	CodeInvalidJob         = "invalid_job"         // 400: a job failed validation (kind, queue, options)
	CodeInvalidSchedule    = "invalid_schedule"    // 400: a schedule failed validation (cron, timezone, policies, job)
	CodeInvalidWebhook     = "invalid_webhook"     // 400: a webhook subscription failed validation (events, url, secret)
	CodeInvalidEvent       = "invalid_event"       // 400: an event failed validation (type, id, data)
	CodeUnauthorized       = "unauthorized"        // 401: no or unknown bearer token
	CodeForbidden          = "forbidden"           // 403: the token's scope does not allow the route, or a cross-origin request
	CodeNotFound           = "not_found"           // 404: no such job, or no such route
	CodeMethodNotAllowed   = "method_not_allowed"  // 405: the route exists with other methods
	CodeWrongState         = "wrong_state"         // 409: the operation does not apply to the job's state
	CodeConflict           = "conflict"            // 409: the thing to create exists already
	CodePreconditionFailed = "precondition_failed" // 412: If-Match names another version than the stored one (or the record is gone)
	CodeTooLarge           = "too_large"           // 413: the body, a batch or a job's args exceed a limit
	CodeUnknownKind        = "unknown_kind"        // 422: no worker registered the job's kind
	CodeUnavailable        = "unavailable"         // 503: the backend cannot be reached
	CodeInternal           = "internal"            // 500: anything else
)

// apiError is an error with the HTTP status and code it is answered with.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// toAPIError maps an error from the client, the backend or the decoders to
// the status and code it is answered with. Unknown errors become 500 with a
// generic message: their text may hold internals (SQL, addresses) that are
// logged, not shown.
func toAPIError(err error) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, conveyor.ErrArgsTooLarge):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Message: err.Error()}
	case errors.Is(err, conveyor.ErrInvalidJob):
		return &apiError{Status: http.StatusBadRequest, Code: CodeInvalidJob, Message: err.Error()}
	case errors.Is(err, backend.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Code: CodeNotFound, Message: err.Error()}
	case errors.Is(err, backend.ErrWrongState):
		return &apiError{Status: http.StatusConflict, Code: CodeWrongState, Message: err.Error()}
	case errors.Is(err, backend.ErrClosed):
		return &apiError{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "backend closed"}
	}
	return &apiError{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"}
}

// writeJSON answers with status and v encoded as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the status is sent; a failed write means the client left
}

// writeError answers with the error body for err, logging what users do not see.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := toAPIError(err)
	if ae.Status == http.StatusInternalServerError {
		s.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "status", ae.Status, "err", err)
	}
	if ae.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="conveyor"`)
	}
	writeJSON(w, ae.Status, errorBody{Error: errorDetail{Code: ae.Code, Message: ae.Message}})
}
