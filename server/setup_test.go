package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"conveyor"
	"conveyor/backend"
	"conveyor/backend/sqlite"
	"conveyor/events"
	"conveyor/server"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

const (
	adminToken = "admin-token-0123456789"
	readToken  = "read-token-0123456789"
)

// newBackend returns a fresh, migrated SQLite backend on its own temp file,
// closed at cleanup: the API is tested on the real embedded default.
func newBackend(t *testing.T) backend.Backend {
	t.Helper()
	b, err := sqlite.New(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "conveyor.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// bundle is what setup gives a test: a server over a real listener and
// direct access to its backend.
type bundle struct {
	t       *testing.T
	url     string
	backend backend.Backend
	client  *conveyor.Client
	srv     *server.Server
	reg     *prometheus.Registry
	router  routers.Router
	// validated counts answers checked against the OpenAPI document.
	validated int
}

type setupOpts struct {
	knownKinds   func(string) bool
	maxBodyBytes int64
	maxBatch     int
	maxArgsBytes int
	events       events.Bus
	stream       events.Bus
}

func setup(t *testing.T, opts ...func(*setupOpts)) *bundle {
	t.Helper()
	var o setupOpts
	for _, f := range opts {
		f(&o)
	}
	b := newBackend(t)
	c, err := conveyor.NewClient(b, conveyor.ClientConfig{MaxArgsBytes: o.maxArgsBytes})
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	srv, err := server.New(server.Config{
		Client:       c,
		Tokens:       []server.Token{{Value: adminToken, Scope: server.ScopeAdmin}, {Value: readToken, Scope: server.ScopeRead}},
		KnownKinds:   o.knownKinds,
		MaxBodyBytes: o.maxBodyBytes,
		MaxBatch:     o.maxBatch,
		Gatherer:     reg,
		Registerer:   reg,
		Events:       o.events,
		Stream:       o.stream,
	})
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &bundle{t: t, url: hs.URL, backend: b, client: c, srv: srv, reg: reg, router: openAPIRouter(t)}
}

// openAPIRouter loads and validates the served document once per test.
func openAPIRouter(t *testing.T) routers.Router {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(server.OpenAPI())
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	doc.Servers = nil // match requests on any host
	r, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	return r
}

// response is one answer of the server.
type response struct {
	status int
	header http.Header
	body   []byte
}

// errBody decodes the JSON error body.
func (r response) err(t *testing.T) (code, message string) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(r.body, &e), "body: %s", r.body)
	require.NotEmpty(t, e.Error.Code, "body: %s", r.body)
	return e.Error.Code, e.Error.Message
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), "body: %s", r.body)
}

// do sends a request with the admin token.
func (b *bundle) do(method, path string, body any) response {
	return b.doAs(adminToken, method, path, body)
}

// doAs sends a request with token ("" for none). body is a string sent as
// is, or a value encoded as JSON. Every answer to a documented route is
// checked against the OpenAPI document, status included.
func (b *bundle) doAs(token, method, path string, body any) response {
	b.t.Helper()
	return b.send(token, nil, method, path, body)
}

// send is doAs with extra request headers.
func (b *bundle) send(token string, header map[string]string, method, path string, body any) response {
	t := b.t
	t.Helper()
	var rd io.Reader
	var raw []byte
	switch v := body.(type) {
	case nil:
	case string:
		raw = []byte(v)
	case []byte:
		raw = v
	default:
		var err error
		raw, err = json.Marshal(v)
		require.NoError(t, err)
	}
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, b.url+path, rd)
	require.NoError(t, err)
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	r := response{status: res.StatusCode, header: res.Header, body: data}
	b.checkOpenAPI(req, raw, r)
	return r
}

// checkOpenAPI validates the answer against the document when the request
// names a documented route.
func (b *bundle) checkOpenAPI(req *http.Request, reqBody []byte, r response) {
	t := b.t
	t.Helper()
	u, _ := url.Parse(req.URL.String())
	vreq := req.Clone(t.Context())
	vreq.URL = u
	if reqBody != nil {
		vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	route, params, err := b.router.FindRoute(vreq)
	if err != nil {
		return // not a documented route (404/405 tests)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route},
		Status:                 r.status,
		Header:                 r.header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(r.body)
	require.NoError(t, openapi3filter.ValidateResponse(t.Context(), in), "%s %s -> %d %s", req.Method, req.URL.Path, r.status, truncate(r.body))
	b.validated++
}

func truncate(b []byte) string {
	s := string(b)
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// enqueue stores a job through the API and returns its id.
func (b *bundle) enqueue(body any) string {
	b.t.Helper()
	r := b.do("POST", "/api/v1/jobs", body)
	require.Equal(b.t, http.StatusCreated, r.status, "body: %s", r.body)
	var v server.EnqueueView
	r.decode(b.t, &v)
	require.NotEmpty(b.t, v.ID)
	return v.ID
}

// claim takes one job of queue as a worker would, so it is running.
func (b *bundle) claim(queue string) *backend.Job {
	b.t.Helper()
	res, err := b.backend.JobClaim(b.t.Context(), &backend.JobClaimParams{
		Queue: queue, Limit: 1, Owner: "test-worker", LeaseDuration: time.Minute, Now: time.Now(),
	})
	require.NoError(b.t, err)
	require.Len(b.t, res.Jobs, 1)
	return res.Jobs[0]
}

func (b *bundle) getJob(id string) server.JobView {
	b.t.Helper()
	r := b.do("GET", "/api/v1/jobs/"+id, nil)
	require.Equal(b.t, http.StatusOK, r.status, "body: %s", r.body)
	var v server.JobView
	r.decode(b.t, &v)
	return v
}

func requireErr(t *testing.T, r response, status int, code string, msgContains ...string) {
	t.Helper()
	require.Equal(t, status, r.status, "body: %s", r.body)
	gotCode, msg := r.err(t)
	require.Equal(t, code, gotCode, "message: %s", msg)
	for _, s := range msgContains {
		require.Contains(t, msg, s)
	}
	require.True(t, strings.HasPrefix(r.header.Get("Content-Type"), "application/json"))
}
