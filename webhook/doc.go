// Package webhook delivers events to HTTP endpoints (DESIGN.md §7).
//
// A Subscription (event type patterns, optional subject/queue/kind
// filters, URL, method, headers, secret) lives in the backend's records
// (Store), so the API, the CLI and every process see the same ones. A
// Dispatcher attached to an events.Bus turns each matching event into a
// delivery job of kind Kind while the event is published; Register adds
// that kind to a worker. Deliveries are therefore ordinary jobs: retried
// with backoff, visible in the API and UI (tag "webhook:ID"), surviving
// restarts.
//
// Each request is signed per Standard Webhooks 1.0: webhook-id (the event
// ID, the same on every retry), webhook-timestamp and webhook-signature
// ("v1," + base64 HMAC-SHA256 of "ID.TIMESTAMP.BODY" keyed by the decoded
// whsec_ secret); Verify checks one on the receiving side. 2xx completes
// the delivery; 410 disables the subscription; 429 and 5xx retry, after
// Retry-After when given; redirects are not followed; other answers fail
// at once. Each attempt records its status, duration and an excerpt of the
// answer.
//
// Key rotation: Store.RotateSecret replaces a subscription's secret and
// keeps the old one for a grace period. Until it ends, each attempt is
// signed with both (webhook-signature: "v1,<new> v1,<old>"), so a receiver
// holding either secret verifies and can switch at its own pace; after it,
// with the new one only. Only one previous secret is kept: rotating again
// during a grace period retires the oldest at once.
//
// Server-side request forgery: the dialer checks every address it
// connects to, after name resolution (so DNS rebinding cannot slip a
// private address past a check made earlier), and refuses loopback,
// private, link-local, multicast and other special-purpose addresses
// unless Config.AllowNets lists them. Proxies from the environment are not
// used.
package webhook
