package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"conveyor/schedule"
	"conveyor/server"
)

// httpOps works through a conveyor server's REST API.
type httpOps struct {
	base  *url.URL
	token string
	hc    *http.Client
}

func newHTTPOps(rawURL, token string) (*httpOps, error) {
	if redacted, reason, bad := unparsableWithUserinfo(rawURL); bad {
		return nil, usageErrorf("--server %s: URL does not parse: %v", redacted, reason)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, usageErrorf("--server %q: URL does not parse: %v", rawURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErrorf("--server %q: want an http:// or https:// URL", rawURL)
	}
	if u.User != nil {
		return nil, usageErrorf("--server: put the token in $%s, not in the URL", envToken)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &httpOps{base: u, token: token, hc: &http.Client{
		Timeout: 30 * time.Second,
		// A redirect could carry the bearer token elsewhere; the API never
		// redirects, so refuse them.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

func (h *httpOps) Close() error { return nil }

// apiStatusError is an error answer of the server.
type apiStatusError struct {
	status  int
	code    string
	message string
}

func (e *apiStatusError) Error() string {
	return fmt.Sprintf("server: %s (%d %s)", e.message, e.status, e.code)
}

// exitCodeOf maps an API answer to the CLI's exit codes.
func (e *apiStatusError) exitCode() int {
	switch {
	case e.status == http.StatusNotFound:
		return exitNotFound
	case e.status == http.StatusConflict:
		return exitConflict
	case e.status == http.StatusUnauthorized || e.status == http.StatusForbidden:
		return exitUnauthorized
	case e.status == http.StatusServiceUnavailable:
		return exitUnavailable
	case e.status >= 400 && e.status < 500:
		return exitUsage
	}
	return exitError
}

// call sends one request and decodes a JSON answer into out (nil: ignore).
func (h *httpOps) call(ctx context.Context, method, path string, body []byte, out any) error {
	return h.callWith(ctx, nil, method, path, body, out)
}

// callWith is call with extra request headers.
func (h *httpOps) callWith(ctx context.Context, header http.Header, method, path string, body []byte, out any) error {
	u := h.base.String() + path
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json")
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	res, err := h.hc.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "connect") {
			return withCode(exitUnavailable, fmt.Errorf("server %s: not reachable: %w", h.base.Redacted(), unwrapURLError(err)))
		}
		return withCode(exitUnavailable, fmt.Errorf("server %s: %w", h.base.Redacted(), unwrapURLError(err)))
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("server %s: reading the answer: %w", h.base.Redacted(), err)
	}
	if res.StatusCode >= 400 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error.Code == "" {
			e.Error.Code, e.Error.Message = "http", strings.TrimSpace(string(data))
			if len(e.Error.Message) > 200 {
				e.Error.Message = e.Error.Message[:200]
			}
		}
		ae := &apiStatusError{status: res.StatusCode, code: e.Error.Code, message: e.Error.Message}
		return withCode(ae.exitCode(), ae)
	}
	if out == nil || res.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("server %s: unexpected answer to %s %s: %w", h.base.Redacted(), method, path, err)
	}
	return nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (h *httpOps) Enqueue(ctx context.Context, body []byte) (*server.EnqueueView, error) {
	var v server.EnqueueView
	return &v, h.call(ctx, "POST", "/api/v1/jobs", body, &v)
}

func (h *httpOps) Get(ctx context.Context, id string) (*server.JobView, error) {
	var v server.JobView
	return &v, h.call(ctx, "GET", "/api/v1/jobs/"+url.PathEscape(id), nil, &v)
}

func (h *httpOps) List(ctx context.Context, query string) (*server.JobListView, error) {
	var v server.JobListView
	path := "/api/v1/jobs"
	if query != "" {
		path += "?" + query
	}
	return &v, h.call(ctx, "GET", path, nil, &v)
}

func (h *httpOps) Cancel(ctx context.Context, id string) (*server.JobView, error) {
	var v server.JobView
	return &v, h.call(ctx, "POST", "/api/v1/jobs/"+url.PathEscape(id)+"/cancel", nil, &v)
}

func (h *httpOps) Retry(ctx context.Context, id string) (*server.JobView, error) {
	var v server.JobView
	return &v, h.call(ctx, "POST", "/api/v1/jobs/"+url.PathEscape(id)+"/retry", nil, &v)
}

func (h *httpOps) Delete(ctx context.Context, id string) error {
	return h.call(ctx, "DELETE", "/api/v1/jobs/"+url.PathEscape(id), nil, nil)
}

func (h *httpOps) Queues(ctx context.Context) (*server.QueueListView, error) {
	var v server.QueueListView
	return &v, h.call(ctx, "GET", "/api/v1/queues", nil, &v)
}

func (h *httpOps) Pause(ctx context.Context, queue string) error {
	return h.call(ctx, "POST", "/api/v1/queues/"+url.PathEscape(queue)+"/pause", nil, nil)
}

func (h *httpOps) Resume(ctx context.Context, queue string) error {
	return h.call(ctx, "POST", "/api/v1/queues/"+url.PathEscape(queue)+"/resume", nil, nil)
}

func (h *httpOps) Schedules(ctx context.Context) (*server.ScheduleListView, error) {
	var v server.ScheduleListView
	return &v, h.call(ctx, "GET", "/api/v1/schedules", nil, &v)
}

func (h *httpOps) PutSchedule(ctx context.Context, name string, body []byte) (*schedule.Entry, error) {
	var v schedule.Entry
	return &v, h.call(ctx, "PUT", "/api/v1/schedules/"+url.PathEscape(name), body, &v)
}

func (h *httpOps) DeleteSchedule(ctx context.Context, name string) error {
	return h.call(ctx, "DELETE", "/api/v1/schedules/"+url.PathEscape(name), nil, nil)
}

func (h *httpOps) TriggerSchedule(ctx context.Context, name, idempotencyKey string) (*server.EnqueueView, error) {
	var header http.Header
	if idempotencyKey != "" {
		header = http.Header{"Idempotency-Key": {idempotencyKey}}
	}
	var v server.EnqueueView
	return &v, h.callWith(ctx, header, "POST", "/api/v1/schedules/"+url.PathEscape(name)+"/trigger", nil, &v)
}

func parseQuery(q string) (url.Values, error) {
	v, err := url.ParseQuery(q)
	if err != nil {
		return nil, usageErrorf("bad filter: %v", err)
	}
	return v, nil
}
