package server

import (
	"errors"
	"net/http"
	"net/url"
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
