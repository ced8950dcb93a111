// Package server is conveyor's HTTP face: the REST API under /api/v1
// (jobs and queues, documented by the OpenAPI 3 document served at
// /api/v1/openapi.json), health and readiness probes, Prometheus metrics and
// a small admin page.
//
// The API speaks JSON both ways. Every error is a JSON body
// {"error":{"code":"…","message":"…"}} with the matching status: 400 for
// bad input (malformed JSON names the byte offset, unknown fields are
// named), 401/403 for auth, 404, 409 when an operation does not apply to a
// job's state, 413 when a body or a job's args are too large, 422 for a job
// kind no worker registered (when the server knows the registry).
//
// Auth is bearer tokens (RFC 6750) with two scopes: read (GET routes) and
// admin (everything). Tokens are compared in constant time. Only /healthz,
// /readyz and the static admin page (which holds no data and asks for a
// token itself) are served without one. Auth can be switched off only for a
// server bound to a loopback address, and then every request must also
// arrive on a loopback address with a loopback Host header, so neither a
// misconfiguration nor DNS rebinding exposes an open API. State-changing
// browser requests from other origins are refused (CSRF).
//
// Use New to build a Server from a Config, then either Start/Stop it (it
// owns its listener and http.Server with read, write and idle timeouts) or
// mount Handler in your own server.
package server
