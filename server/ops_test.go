package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"conveyor"
	"conveyor/server"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

func TestHealth(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.doAs("", "GET", "/healthz", nil)
	require.Equal(t, 200, r.status)
	require.JSONEq(t, `{"status":"ok"}`, string(r.body))
	r = b.doAs("", "GET", "/readyz", nil)
	require.Equal(t, 200, r.status, "body: %s", r.body)
	require.JSONEq(t, `{"status":"ok","backend":"sqlite"}`, string(r.body))

	// A backend that cannot answer makes /readyz 503 but leaves /healthz up.
	require.NoError(t, b.backend.Close())
	requireErr(t, b.doAs("", "GET", "/readyz", nil), 503, server.CodeUnavailable)
	require.Equal(t, 200, b.doAs("", "GET", "/healthz", nil).status)
}

func TestAuth(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.enqueue(`{"kind":"demo.echo"}`)

	// No token / unknown token: 401 with a challenge, on every protected route.
	for _, rt := range []struct{ method, path string }{
		{"GET", "/api/v1/jobs"}, {"POST", "/api/v1/jobs"}, {"GET", "/api/v1/jobs/" + id},
		{"DELETE", "/api/v1/jobs/" + id}, {"POST", "/api/v1/jobs/" + id + "/cancel"}, {"POST", "/api/v1/jobs/" + id + "/retry"},
		{"GET", "/api/v1/queues"}, {"POST", "/api/v1/queues/q/pause"}, {"POST", "/api/v1/queues/q/resume"}, {"GET", "/metrics"},
	} {
		r := b.doAs("", rt.method, rt.path, nil)
		requireErr(t, r, 401, server.CodeUnauthorized, "missing bearer token")
		require.Contains(t, r.header.Get("WWW-Authenticate"), "Bearer")
		requireErr(t, b.doAs("wrong-token", rt.method, rt.path, nil), 401, server.CodeUnauthorized, "unknown")
		requireErr(t, b.doAs(adminToken+"x", rt.method, rt.path, nil), 401, server.CodeUnauthorized)
	}
	// Read scope: GET yes, changes no.
	require.Equal(t, 200, b.doAs(readToken, "GET", "/api/v1/jobs/"+id, nil).status)
	require.Equal(t, 200, b.doAs(readToken, "GET", "/api/v1/jobs", nil).status)
	require.Equal(t, 200, b.doAs(readToken, "GET", "/api/v1/queues", nil).status)
	require.Equal(t, 200, b.doAs(readToken, "GET", "/metrics", nil).status)
	requireErr(t, b.doAs(readToken, "POST", "/api/v1/jobs", `{"kind":"demo.echo"}`), 403, server.CodeForbidden, `"read"`)
	requireErr(t, b.doAs(readToken, "POST", "/api/v1/jobs/"+id+"/cancel", nil), 403, server.CodeForbidden)
	requireErr(t, b.doAs(readToken, "DELETE", "/api/v1/jobs/"+id, nil), 403, server.CodeForbidden)
	requireErr(t, b.doAs(readToken, "POST", "/api/v1/queues/q/pause", nil), 403, server.CodeForbidden)
	require.Equal(t, conveyor.StateQueued, b.getJob(id).State, "refused requests change nothing")

	// Tokens in the query string are refused even when valid.
	requireErr(t, b.doAs("", "GET", "/api/v1/jobs?access_token="+adminToken, nil), 400, server.CodeBadRequest, "query string")

	// The scheme is case-insensitive (RFC 6750 §2.1); other schemes are not bearer tokens.
	req, _ := http.NewRequest("GET", b.url+"/api/v1/queues", nil)
	req.Header.Set("Authorization", "bearer "+readToken)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	req.Header.Set("Authorization", "Basic "+readToken)
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 401, res.StatusCode)

	// Public: health, the document, the admin page.
	require.Equal(t, 200, b.doAs("", "GET", "/api/v1/openapi.json", nil).status)
	require.Equal(t, 200, b.doAs("", "GET", "/", nil).status)
}

func TestParseTokens(t *testing.T) {
	t.Parallel()
	toks, err := server.ParseTokens(" a1:admin, r:1:read ,, ")
	require.NoError(t, err)
	require.Equal(t, []server.Token{{Value: "a1", Scope: server.ScopeAdmin}, {Value: "r:1", Scope: server.ScopeRead}}, toks)
	for _, bad := range []string{"tok", "tok:root", ":admin", "t k:read"} {
		_, err := server.ParseTokens(bad)
		require.Error(t, err, bad)
	}

	dir := t.TempDir()
	path := dir + "/tokens"
	require.NoError(t, writeFile(path, "# ops\nsecret-1:admin\n\n  reader:read  \n"))
	toks, err = server.LoadTokensFile(path)
	require.NoError(t, err)
	require.Equal(t, []server.Token{{Value: "secret-1", Scope: server.ScopeAdmin}, {Value: "reader", Scope: server.ScopeRead}}, toks)
	require.NoError(t, writeFile(path, "ok:read\nsupersecret:superuser\n"))
	_, err = server.LoadTokensFile(path)
	require.ErrorContains(t, err, "line 2")
	require.NotContains(t, err.Error(), "supersecret", "errors never show a token")
	_, err = server.LoadTokensFile(dir + "/missing")
	require.Error(t, err)
}

func TestAuthDisabledOnlyOnLoopback(t *testing.T) {
	t.Parallel()
	c, err := conveyor.NewClient(newBackend(t), conveyor.ClientConfig{})
	require.NoError(t, err)
	for _, addr := range []string{"0.0.0.0:8080", ":8080", "10.1.2.3:80", "example.com:80"} {
		_, err := server.New(server.Config{Client: c, Addr: addr, DisableAuth: true})
		require.ErrorContains(t, err, "loopback", addr)
	}
	srv, err := server.New(server.Config{Client: c, Addr: "127.0.0.1:0", DisableAuth: true})
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)

	res, err := http.Get(hs.URL + "/api/v1/queues")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 200, res.StatusCode)

	// DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends Host: evil.example.
	req, _ := http.NewRequest("GET", hs.URL+"/api/v1/queues", nil)
	req.Host = "evil.example:8080"
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, 403, res.StatusCode, "body: %s", body)
	require.Contains(t, string(body), server.CodeForbidden)
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	c, err := conveyor.NewClient(newBackend(t), conveyor.ClientConfig{})
	require.NoError(t, err)
	tok := []server.Token{{Value: "t", Scope: server.ScopeAdmin}}
	tests := []struct {
		name    string
		cfg     server.Config
		wantErr string
	}{
		{"no client", server.Config{Tokens: tok}, "Client"},
		{"no tokens", server.Config{Client: c}, "no API tokens"},
		{"both", server.Config{Client: c, Tokens: tok, DisableAuth: true}, "exclusive"},
		{"bad token", server.Config{Client: c, Tokens: []server.Token{{Value: "t", Scope: "root"}}}, "scope"},
		{"bad origin", server.Config{Client: c, Tokens: tok, TrustedOrigins: []string{"::"}}, "origin"},
		{"negative body", server.Config{Client: c, Tokens: tok, MaxBodyBytes: -1}, "MaxBodyBytes"},
		{"ok", server.Config{Client: c, Tokens: tok}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := server.New(tc.cfg)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestCrossOriginRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	req, _ := http.NewRequest("POST", b.url+"/api/v1/jobs", strings.NewReader(`{"kind":"demo.echo"}`))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, 403, res.StatusCode, "body: %s", body)
	require.Zero(t, countJobs(t, b))
}

func TestUnknownRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	requireErr(t, b.do("GET", "/api/v1/nothing", nil), 404, server.CodeNotFound, "/api/v1/nothing")
	requireErr(t, b.do("GET", "/nothing", nil), 404, server.CodeNotFound)
	r := b.do("PUT", "/api/v1/jobs", `{}`)
	requireErr(t, r, 405, server.CodeMethodNotAllowed)
	require.Contains(t, r.header.Get("Allow"), "POST")
	require.Contains(t, r.header.Get("Allow"), "GET")
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctr := prometheus.NewCounter(prometheus.CounterOpts{Name: "conveyor_test_total", Help: "test"})
	b.reg.MustRegister(ctr)
	ctr.Add(3)
	b.enqueue(`{"kind":"demo.echo"}`)
	b.do("GET", "/api/v1/jobs/0190a5c4-7b1e-7c3d-9b2a-1234567890ab", nil)
	r := b.do("GET", "/metrics", nil)
	require.Equal(t, 200, r.status)
	body := string(r.body)
	require.Contains(t, body, "conveyor_test_total 3")
	// Request metrics are labelled by route pattern, not by path.
	require.Contains(t, body, `conveyor_http_requests_total{code="201",method="POST",route="/api/v1/jobs"} 1`)
	require.Contains(t, body, `conveyor_http_requests_total{code="404",method="GET",route="/api/v1/jobs/{id}"} 1`)
	require.Contains(t, body, `conveyor_http_request_duration_seconds_count{method="POST",route="/api/v1/jobs"} 1`)
}

func TestAdminPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.doAs("", "GET", "/", nil)
	require.Equal(t, 200, r.status)
	require.Contains(t, string(r.body), "<title>conveyor</title>")
	require.Contains(t, r.header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
	r = b.doAs("", "GET", "/ui/app.js", nil)
	require.Equal(t, 200, r.status)
	require.Contains(t, string(r.body), "/api/v1/queues")
}

func TestStartStop(t *testing.T) {
	t.Parallel()
	c, err := conveyor.NewClient(newBackend(t), conveyor.ClientConfig{})
	require.NoError(t, err)
	srv, err := server.New(server.Config{Client: c, Addr: "127.0.0.1:0", DisableAuth: true})
	require.NoError(t, err)
	require.NoError(t, srv.Start(t.Context()))
	require.Error(t, srv.Start(t.Context()), "a second start is refused")
	addr := srv.Addr()
	require.NotEqual(t, "127.0.0.1:0", addr)
	res, err := http.Get("http://" + addr + "/healthz")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 200, res.StatusCode)

	// A second server on the same port reports the busy port from Start.
	srv2, err := server.New(server.Config{Client: c, Addr: addr, DisableAuth: true})
	require.NoError(t, err)
	require.ErrorContains(t, srv2.Start(t.Context()), addr)

	require.NoError(t, srv.Stop(context.Background()))
	require.NoError(t, srv.Stop(context.Background()), "Stop is idempotent")
	_, err = http.Get("http://" + addr + "/healthz")
	require.Error(t, err)
}

func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData(server.OpenAPI())
	require.NoError(t, err)
	require.NoError(t, doc.Validate(t.Context()))

	c, err := conveyor.NewClient(newBackend(t), conveyor.ClientConfig{})
	require.NoError(t, err)
	srv, err := server.New(server.Config{Client: c, Tokens: []server.Token{{Value: "t", Scope: server.ScopeRead}}})
	require.NoError(t, err)
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	var served []string
	for _, rt := range srv.Routes() {
		served = append(served, rt.Method+" "+rt.Path)
		op := doc.Paths.Find(rt.Path).GetOperation(rt.Method)
		require.NotNil(t, op, "%s %s is not documented", rt.Method, rt.Path)
		if rt.Public {
			require.NotNil(t, op.Security, "%s %s: public routes say security: []", rt.Method, rt.Path)
			require.Empty(t, *op.Security, "%s %s", rt.Method, rt.Path)
		} else {
			require.NotNil(t, op.Security, "%s %s: protected routes name their scope", rt.Method, rt.Path)
			require.NotEmpty(t, *op.Security, "%s %s", rt.Method, rt.Path)
		}
	}
	slices.Sort(documented)
	slices.Sort(served)
	require.Equal(t, served, documented, "the document lists exactly the served routes")
}

func TestHealthHandler(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	reg := prometheus.NewRegistry()
	var logs syncBuffer
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "conveyor_test_gauge", Help: "test"})
	reg.MustRegister(g)
	hs := httptest.NewServer(server.HealthHandler(b, reg, slog.New(slog.NewTextHandler(&logs, nil))))
	t.Cleanup(hs.Close)
	get := func(path string) (int, string) {
		res, err := http.Get(hs.URL + path)
		require.NoError(t, err)
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	code, _ := get("/healthz")
	require.Equal(t, 200, code)
	code, body := get("/readyz")
	require.Equal(t, 200, code, body)
	require.JSONEq(t, `{"status":"ok","backend":"sqlite"}`, body, "same answer as the API's /readyz")
	code, body = get("/metrics")
	require.Equal(t, 200, code)
	require.Contains(t, body, "conveyor_test_gauge 0")
	require.NoError(t, b.Close())
	code, body = get("/readyz")
	require.Equal(t, 503, code)
	require.Contains(t, body, server.CodeUnavailable)
	require.Contains(t, logs.String(), "readiness check failed", "the cause is logged, not answered")
}
