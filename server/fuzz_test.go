package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"conveyor"
)

// FuzzDecodeEnqueue feeds arbitrary bodies to the enqueue decoder: it must
// never panic, must answer every bad body with a 400 that says something,
// and whatever it accepts must be jobs the client can validate without
// panicking either.
func FuzzDecodeEnqueue(f *testing.F) {
	for _, s := range []string{
		`{"kind":"demo.echo","args":{"a":1}}`,
		`[{"kind":"a"},{"kind":"b","queue":"q","priority":3}]`,
		`{"kind":"x","delay":"1m","timeout":30,"unique_key":"k","unique_states":["queued"],"unique_window":"1h"}`,
		`{"kind":"x","run_at":"2030-01-01T00:00:00Z","tags":["t"],"meta":{"m":true},"max_attempts":2}`,
		`{"kind":"x","delay":1e309}`, `{"kind":"x","delay":-1}`, `{"kind": "demo.echo",, }`, `[]`, `[`, `{}`, `null`, `"s"`, ``,
		`{"kind":"x","args":null,"meta":null}`, `{"kind":"x","zzz":1}`, `{"kind":"x"} trailing`,
	} {
		f.Add([]byte(s))
	}
	c, err := conveyor.NewClient(nopBackend{}, conveyor.ClientConfig{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		reqs, _, err := DecodeEnqueue(data)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				t.Fatalf("decode error is not an API error: %T %v", err, err)
			}
			if ae.Status != http.StatusBadRequest || ae.Code == "" || ae.Message == "" {
				t.Fatalf("decode error answered %d %q %q", ae.Status, ae.Code, ae.Message)
			}
			return
		}
		if len(reqs) == 0 {
			t.Fatal("accepted a body with no job")
		}
		// The client's validation must cope with anything the decoder lets through.
		_, _ = c.EnqueueMany(t.Context(), reqs)
	})
}

// FuzzParseListQuery checks the list query parser on arbitrary query strings.
func FuzzParseListQuery(f *testing.F) {
	for _, s := range []string{"state=queued,failed&queue=q&kind=k&tag=t&limit=10&cursor=abc", "limit=0", "state=", "enqueued_after=2030-01-01T00:00:00Z", "x=1", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		p, err := ParseListQuery(q)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
				t.Fatalf("bad query answered with %v", err)
			}
			return
		}
		for _, s := range p.States {
			if !s.Valid() {
				t.Fatalf("accepted state %q", s)
			}
		}
		if p.Limit < 0 || p.Limit > 1000 {
			t.Fatalf("accepted limit %d", p.Limit)
		}
	})
}

// FuzzAPI sends arbitrary methods, paths and bodies through the whole
// handler (routing, limits, auth, decoding) over a backend that stores
// nothing: no input may crash it or get a 500, and every answer to an API
// path is JSON, errors in the documented shape.
func FuzzAPI(f *testing.F) {
	f.Add(uint8(0), "/api/v1/jobs", []byte(`{"kind":"demo.echo"}`))
	f.Add(uint8(0), "/api/v1/jobs", []byte(`[{"kind":"a"},{"kind":"b","delay":"1s"}]`))
	f.Add(uint8(1), "/api/v1/jobs?state=queued&limit=5", []byte(nil))
	f.Add(uint8(1), "/api/v1/jobs/0190a5c4-7b1e-7c3d-9b2a-1234567890ab", []byte(nil))
	f.Add(uint8(2), "/api/v1/jobs/x", []byte(nil))
	f.Add(uint8(0), "/api/v1/queues/q/pause", []byte(nil))
	f.Add(uint8(3), "/api/v1/jobs", []byte(`{}`))
	c, err := conveyor.NewClient(nopBackend{}, conveyor.ClientConfig{})
	if err != nil {
		f.Fatal(err)
	}
	srv, err := New(Config{Client: c, Tokens: []Token{{Value: "t", Scope: ScopeAdmin}}, MaxBodyBytes: 1 << 16, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	methods := []string{"POST", "GET", "DELETE", "PUT", "PATCH", "HEAD"}
	f.Fuzz(func(t *testing.T, m uint8, path string, body []byte) {
		u, err := url.ParseRequestURI(path)
		if err != nil || !strings.HasPrefix(u.Path, "/api/") {
			return
		}
		req, err := http.NewRequest(methods[int(m)%len(methods)], "http://example.com"+u.RequestURI(), bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer t")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s -> %d %s", req.Method, path, rec.Code, rec.Body.String())
		}
		if rec.Code == http.StatusNoContent || req.Method == "HEAD" {
			return
		}
		if rec.Code >= 300 && rec.Code < 400 {
			// The mux redirects unclean paths (/api/v1//jobs) to their clean form.
			if rec.Header().Get("Location") == "" {
				t.Fatalf("%s %s -> %d without Location", req.Method, path, rec.Code)
			}
			return
		}
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil && !strings.HasPrefix(rec.Body.String(), "{") && !strings.HasPrefix(rec.Body.String(), "[") {
			t.Fatalf("%s %s -> %d non-JSON %q", req.Method, path, rec.Code, rec.Body.String())
		}
		if rec.Code >= 400 {
			e, _ := v["error"].(map[string]any)
			if e == nil || e["code"] == "" || e["message"] == "" {
				t.Fatalf("%s %s -> %d error body %q", req.Method, path, rec.Code, rec.Body.String())
			}
		}
	})
}
