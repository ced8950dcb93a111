package webhook

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"conveyor/events"
)

// Subscription sends the events matching its patterns and filters to a URL.
type Subscription struct {
	// ID names the subscription (assigned on create).
	ID string `json:"id"`
	// Events are type patterns (events.Match): "conveyor.job.failed",
	// "conveyor.job.*", "doc.**", "*".
	Events []string `json:"events"`
	// Subject, Queue and Kind, when set, keep only events with that subject,
	// or job events of that queue or kind.
	Subject string `json:"subject,omitempty"`
	Queue   string `json:"queue,omitempty"`
	Kind    string `json:"kind,omitempty"`
	// URL receives the deliveries: http or https, no user info.
	URL string `json:"url"`
	// Method is POST (default), PUT or PATCH.
	Method string `json:"method,omitempty"`
	// Headers are sent with every delivery (not Host, Content-*, or the
	// webhook-* signature headers).
	Headers map[string]string `json:"headers,omitempty"`
	// Secret signs deliveries (Standard Webhooks: "whsec_" and base64 of
	// 24 to 64 random bytes). Generated when empty on create.
	Secret string `json:"secret,omitempty"`
	// PreviousSecret is the secret RotateSecret replaced: deliveries are
	// signed with it too (a second signature) until PreviousSecretExpiresAt,
	// so receivers can switch to the new secret within that grace period.
	// Only one previous secret is kept. Set by RotateSecret only; masked
	// like Secret wherever subscriptions are shown.
	PreviousSecret          string    `json:"previous_secret,omitempty"`
	PreviousSecretExpiresAt time.Time `json:"previous_secret_expires_at,omitzero"`
	// Disabled stops deliveries. A 410 Gone answer disables the
	// subscription, saying so in DisabledReason. (JSON: "enabled".)
	Disabled       bool   `json:"-"`
	DisabledReason string `json:"disabled_reason,omitempty"`
}

// wireSubscription is Subscription's JSON form, with "enabled" (default
// true) in place of Disabled.
type wireSubscription struct {
	subscriptionFields
	Enabled *bool `json:"enabled,omitempty"`
}

type subscriptionFields Subscription

// MarshalJSON writes "enabled".
func (s Subscription) MarshalJSON() ([]byte, error) {
	enabled := !s.Disabled
	return json.Marshal(wireSubscription{subscriptionFields(s), &enabled})
}

// UnmarshalJSON reads "enabled" (absent means true).
func (s *Subscription) UnmarshalJSON(data []byte) error {
	var w wireSubscription
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*s = Subscription(w.subscriptionFields)
	s.Disabled = w.Enabled != nil && !*w.Enabled
	return nil
}

// Decode reads one subscription from JSON input, refusing unknown fields so
// a typo is not silently ignored. It does not validate.
func Decode(data []byte) (Subscription, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var w wireSubscription
	if err := dec.Decode(&w); err != nil {
		return Subscription{}, fmt.Errorf("%w: %v", ErrInvalid, strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return Subscription{}, fmt.Errorf("%w: more than one JSON value", ErrInvalid)
	}
	s := Subscription(w.subscriptionFields)
	s.Disabled = w.Enabled != nil && !*w.Enabled
	return s, nil
}

// ErrInvalid wraps every validation error of a subscription.
var ErrInvalid = errors.New("invalid webhook")

// Validate reports the first thing wrong with s, naming the field. The
// address is checked again when each delivery connects (see Config).
func (s *Subscription) Validate() error {
	if len(s.Events) == 0 {
		return fmt.Errorf("%w: events: give at least one type pattern, e.g. conveyor.job.failed", ErrInvalid)
	}
	for _, p := range s.Events {
		if err := events.ValidPattern(p); err != nil {
			return fmt.Errorf("%w: events: %v", ErrInvalid, err)
		}
	}
	u, err := url.Parse(s.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: url %q: want an absolute http:// or https:// URL", ErrInvalid, s.URL)
	}
	if u.User != nil {
		return fmt.Errorf("%w: url: user info is not allowed (put credentials in headers)", ErrInvalid)
	}
	switch s.Method {
	case "", http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return fmt.Errorf("%w: method must be POST, PUT or PATCH, got %q", ErrInvalid, s.Method)
	}
	for name, v := range s.Headers {
		canon := http.CanonicalHeaderKey(name)
		if !validHeaderName(name) || strings.ContainsAny(v, "\r\n\x00") {
			return fmt.Errorf("%w: header %q is not a valid header", ErrInvalid, name)
		}
		if canon == "Host" || strings.HasPrefix(canon, "Content-") || strings.HasPrefix(canon, "Webhook-") {
			return fmt.Errorf("%w: header %q is set by conveyor", ErrInvalid, name)
		}
	}
	if s.Secret != "" {
		if _, err := secretKey(s.Secret); err != nil {
			return err
		}
	}
	if s.PreviousSecret != "" {
		if _, err := secretKey(s.PreviousSecret); err != nil {
			return fmt.Errorf("previous_secret: %w", err)
		}
	}
	return nil
}

// signingSecrets are the secrets a delivery made at now is signed with,
// current first: the previous secret too while its grace period lasts
// (it expires at PreviousSecretExpiresAt exactly).
func (s *Subscription) signingSecrets(now time.Time) []string {
	if s.previousValid(now) {
		return []string{s.Secret, s.PreviousSecret}
	}
	return []string{s.Secret}
}

func (s *Subscription) previousValid(now time.Time) bool {
	return s.PreviousSecret != "" && now.Before(s.PreviousSecretExpiresAt)
}

func (s *Subscription) method() string {
	if s.Method == "" {
		return http.MethodPost
	}
	return s.Method
}

// matches reports whether ev goes to s (ignoring Disabled).
func (s *Subscription) matches(ev *events.Event) bool {
	if s.Subject != "" && ev.Subject != s.Subject {
		return false
	}
	if s.Queue != "" || s.Kind != "" {
		var job struct{ Queue, Kind string }
		if json.Unmarshal(ev.Data, &job) != nil || s.Queue != "" && job.Queue != s.Queue || s.Kind != "" && job.Kind != s.Kind {
			return false
		}
	}
	for _, p := range s.Events {
		if events.Match(p, ev.Type) {
			return true
		}
	}
	return false
}

// NewSecret returns a fresh signing secret: "whsec_" and base64 of 32
// random bytes.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// Masked stands for a header value in listings (see Redacted).
const Masked = "…"

// Redacted returns a copy of s to show to people: the secrets shortened
// (MaskSecret), header values (which may carry the receiver's credentials)
// replaced by Masked. Update keeps the stored values when they come back so.
func (s *Subscription) Redacted() *Subscription {
	c := *s
	c.Secret = MaskSecret(s.Secret)
	if s.PreviousSecret != "" {
		c.PreviousSecret = MaskSecret(s.PreviousSecret)
	}
	if len(s.Headers) > 0 {
		c.Headers = make(map[string]string, len(s.Headers))
		for k := range s.Headers {
			c.Headers[k] = Masked
		}
	}
	return &c
}

// RedactedAt is Redacted as of now: a previous secret that no longer signs
// (its grace period over, though it stays stored until the next write) is
// left out, so nobody is told it still does.
func (s *Subscription) RedactedAt(now time.Time) *Subscription {
	c := s.Redacted()
	if !s.previousValid(now) {
		c.PreviousSecret, c.PreviousSecretExpiresAt = "", time.Time{}
	}
	return c
}

// LogValue keeps secrets and header values out of logs: a subscription
// logged with slog shows only its id, url (without query) and whether it
// is enabled.
func (s Subscription) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", s.ID), slog.String("url", redactURL(s.URL)), slog.Bool("enabled", !s.Disabled))
}

// redactURL is u without its query and fragment (which may carry tokens),
// for errors and logs.
func redactURL(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}

// MaskSecret shows only the start of a secret, for listings.
func MaskSecret(secret string) string {
	if len(secret) <= len(secretPrefix)+4 {
		return secretPrefix + "…"
	}
	return secret[:len(secretPrefix)+4] + "…"
}

const secretPrefix = "whsec_"

// secretKey decodes a whsec_ secret into its HMAC key.
func secretKey(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: secret must start with %q", ErrInvalid, secretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("%w: secret must be %q and base64 of 24 to 64 bytes", ErrInvalid, secretPrefix)
	}
	return key, nil
}

// validHeaderName reports an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}
