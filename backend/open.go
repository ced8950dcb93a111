package backend

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// OpenFunc opens a backend from its URL.
type OpenFunc func(ctx context.Context, rawURL string) (Backend, error)

// ExistsFunc reports whether the store a URL names exists, for backends
// whose Open creates a missing store (a local file): an error wrapping
// ErrNoStore when it does not.
type ExistsFunc func(rawURL string) error

var (
	registryMu sync.RWMutex
	registry   = map[string]OpenFunc{}
	existsFns  = map[string]ExistsFunc{}
)

// Register makes a backend available to Open under the given URL schemes.
// Backend packages call it from init; import backend/all to get them all.
func Register(open OpenFunc, schemes ...string) {
	registryMu.Lock()
	defer registryMu.Unlock()
	for _, s := range schemes {
		registry[s] = open
	}
}

// RegisterExists gives CheckExists a way to test the schemes' stores.
// Backends whose store is a server do not register one.
func RegisterExists(exists ExistsFunc, schemes ...string) {
	registryMu.Lock()
	defer registryMu.Unlock()
	for _, s := range schemes {
		existsFns[s] = exists
	}
}

// CheckExists returns an error wrapping ErrNoStore when the URL names a
// store that Open would create rather than find (a SQLite file that is not
// there), so commands that only read or change existing jobs can refuse
// instead of creating an empty store. It returns nil for backends whose store
// is a server or in memory.
func CheckExists(rawURL string) error {
	scheme, _, _ := strings.Cut(rawURL, ":")
	registryMu.RLock()
	exists := existsFns[strings.ToLower(scheme)]
	registryMu.RUnlock()
	if exists == nil {
		return nil
	}
	return exists(rawURL)
}

// Open opens the backend a URL names (DESIGN.md §1): "memory:",
// "sqlite:PATH", "postgres://…", "redis://…", "nats://…". The error names
// the URL (without password) and the reason.
func Open(ctx context.Context, rawURL string) (Backend, error) {
	scheme, _, ok := strings.Cut(rawURL, ":")
	if !ok || scheme == "" {
		return nil, fmt.Errorf("backend URL %q: missing scheme (want one of %s)", rawURL, strings.Join(Schemes(), ", "))
	}
	registryMu.RLock()
	open := registry[strings.ToLower(scheme)]
	registryMu.RUnlock()
	if open == nil {
		return nil, fmt.Errorf("backend URL %q: unknown scheme %q (want one of %s)", Redact(rawURL), scheme, strings.Join(Schemes(), ", "))
	}
	b, err := open(ctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("backend %s: %w", Redact(rawURL), err)
	}
	return b, nil
}

// Schemes lists the registered URL schemes, sorted.
func Schemes() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(registry))
	for s := range registry {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Redact hides the password of a URL so it can be logged. A URL that does
// not parse has everything between "//" and the last "@" of its authority
// replaced, so a typo elsewhere never leaks the password.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err == nil {
		if u.User == nil {
			return rawURL
		}
		return u.Redacted()
	}
	scheme, rest, ok := strings.Cut(rawURL, "//")
	if !ok {
		return rawURL
	}
	authority, path, _ := strings.Cut(rest, "/")
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return rawURL
	}
	redacted := scheme + "//xxxxx" + authority[at:]
	if len(authority) < len(rest) {
		redacted += "/" + path
	}
	return redacted
}

// ParseURL parses a backend URL like url.Parse, but its error gives only the
// reason, never the URL itself (which may hold a password).
func ParseURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, fmt.Errorf("invalid URL: %w", ue.Err)
		}
		return nil, errors.New("invalid URL")
	}
	return u, nil
}
