package server

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
)

// Scope is what a token may do.
type Scope string

// The token scopes.
const (
	// ScopeRead allows the GET routes: inspecting jobs, queues and metrics.
	ScopeRead Scope = "read"
	// ScopeAdmin allows every route: enqueue, cancel, retry, delete, pause, resume.
	ScopeAdmin Scope = "admin"
)

// allows reports whether a token of scope s may use a route needing need.
func (s Scope) allows(need Scope) bool {
	return s == ScopeAdmin || s == need
}

// Token is one API bearer token and its scope.
type Token struct {
	// Value is the secret the client sends as "Authorization: Bearer <Value>".
	Value string
	// Scope is what the token may do.
	Scope Scope
}

// ParseTokens reads tokens in the CONVEYOR_TOKENS format: a comma-separated
// list of TOKEN:SCOPE pairs, e.g. "s3cret:admin,r3ader:read". The scope is
// after the last colon. Blank entries are ignored.
func ParseTokens(s string) ([]Token, error) {
	var out []Token
	for i, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		t, err := parseToken(item)
		if err != nil {
			return nil, fmt.Errorf("token %d: %w", i+1, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// LoadTokensFile reads tokens from a file with one TOKEN:SCOPE per line;
// blank lines and lines starting with # are ignored. Errors name the line,
// never the token.
func LoadTokensFile(path string) ([]Token, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokens file: %w", err)
	}
	defer f.Close()
	var out []Token
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		t, err := parseToken(line)
		if err != nil {
			return nil, fmt.Errorf("tokens file %s line %d: %w", path, n, err)
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokens file %s: %w", path, err)
	}
	return out, nil
}

func parseToken(item string) (Token, error) {
	i := strings.LastIndexByte(item, ':')
	if i < 0 {
		return Token{}, errors.New(`want TOKEN:SCOPE with scope "read" or "admin"`)
	}
	t := Token{Value: item[:i], Scope: Scope(item[i+1:])}
	return t, t.validate()
}

func (t Token) validate() error {
	if t.Scope != ScopeRead && t.Scope != ScopeAdmin {
		return fmt.Errorf(`unknown scope %q (want "read" or "admin")`, t.Scope)
	}
	if t.Value == "" {
		return errors.New("empty token")
	}
	if strings.ContainsAny(t.Value, " \t\r\n,") {
		return errors.New("token contains whitespace or a comma")
	}
	return nil
}

// authenticator checks bearer tokens. It keeps only SHA-256 digests so every
// comparison is between equal-length values, done in constant time over all
// tokens: neither the token's length nor which token matched leaks through
// timing.
type authenticator struct {
	digests [][sha256.Size]byte
	scopes  []Scope
}

func newAuthenticator(tokens []Token) (*authenticator, error) {
	a := &authenticator{}
	for i, t := range tokens {
		if err := t.validate(); err != nil {
			return nil, fmt.Errorf("token %d: %w", i+1, err)
		}
		a.digests = append(a.digests, sha256.Sum256([]byte(t.Value)))
		a.scopes = append(a.scopes, t.Scope)
	}
	return a, nil
}

// scopeOf returns the scope of the presented token, or "" if it is unknown.
func (a *authenticator) scopeOf(presented string) Scope {
	d := sha256.Sum256([]byte(presented))
	var found Scope
	for i := range a.digests {
		if subtle.ConstantTimeCompare(d[:], a.digests[i][:]) == 1 {
			found = a.scopes[i]
		}
	}
	return found
}

// bearerToken extracts the token of an "Authorization: Bearer" header, or
// of a WebSocket upgrade's "bearer.TOKEN" subprotocol (browsers cannot set
// headers on a WebSocket; see StreamProtocol).
func bearerToken(r *http.Request) (string, bool) {
	if r.Header.Get("Authorization") == "" && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
			for p := range strings.SplitSeq(v, ",") {
				if tok, ok := strings.CutPrefix(strings.TrimSpace(p), "bearer."); ok && tok != "" {
					return tok, true
				}
			}
		}
	}
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// requiredScope is the scope a request needs: reads for safe methods, admin
// for everything that changes state.
func requiredScope(r *http.Request) Scope {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return ScopeRead
	}
	return ScopeAdmin
}

// authorize decides whether r may go on. With auth disabled (loopback dev
// mode only) it still insists that the request arrived on a loopback address
// and names a loopback host, which defeats DNS rebinding from a browser.
func (s *Server) authorize(r *http.Request) error {
	if r.URL.Query().Has("access_token") {
		return errorf(http.StatusBadRequest, CodeBadRequest, "tokens in the query string are not accepted; send an Authorization: Bearer header")
	}
	if s.cfg.DisableAuth {
		if !localAddrIsLoopback(r) || !hostIsLoopback(r.Host) {
			return errorf(http.StatusForbidden, CodeForbidden, "this server runs without auth and answers only loopback requests to a loopback host name")
		}
		return nil
	}
	tok, ok := bearerToken(r)
	if !ok {
		return errorf(http.StatusUnauthorized, CodeUnauthorized, "missing bearer token: send Authorization: Bearer <token>")
	}
	scope := s.auth.scopeOf(tok)
	if scope == "" {
		return errorf(http.StatusUnauthorized, CodeUnauthorized, "unknown bearer token")
	}
	if need := requiredScope(r); !scope.allows(need) {
		return errorf(http.StatusForbidden, CodeForbidden, "this token has scope %q; %s %s needs %q", scope, r.Method, r.URL.Path, need)
	}
	return nil
}

func localAddrIsLoopback(r *http.Request) bool {
	addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func hostIsLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// addrIsLoopback reports whether a listen address binds only loopback
// interfaces ("127.0.0.1:8080", "[::1]:0", "localhost:8080"). An empty host
// binds every interface and is not loopback.
func addrIsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	return hostIsLoopback(host)
}
