package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	neturl "net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"conveyor"
	"conveyor/backend"
	"conveyor/events"
	"conveyor/internal/clock"
)

// Kind is the job kind of a delivery: each matching event becomes one job,
// so deliveries get retries with backoff, states, logs and the UI.
const Kind = "conveyor.webhook.deliver"

// DeliveryArgs are the args of a delivery job.
type DeliveryArgs struct {
	SubscriptionID string        `json:"subscription_id"`
	Event          *events.Event `json:"event"`
}

// DeliveryResult is the result of a successful delivery.
type DeliveryResult struct {
	Status      int     `json:"status"`
	DurationMS  float64 `json:"duration_ms"`
	BodyExcerpt string  `json:"body_excerpt,omitempty"`
}

// Config configures delivery. The zero value is valid and refuses every
// non-public address.
type Config struct {
	// AllowNets are networks deliveries may reach although they are not
	// public (e.g. 10.0.0.0/8 for an internal receiver, 127.0.0.0/8 in
	// tests). Default none.
	AllowNets []netip.Prefix
	// Timeout bounds one delivery attempt. Default 30 s.
	Timeout time.Duration
	// MaxRetryAfter caps a receiver's Retry-After. Default 1 hour.
	MaxRetryAfter time.Duration
	// Logger receives subscriptions disabled by 410. Default slog.Default().
	Logger *slog.Logger
	// Clock signs with its time. Default: the wall clock.
	Clock conveyor.Clock
}

func (c Config) withDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.MaxRetryAfter == 0 {
		c.MaxRetryAfter = time.Hour
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	return c
}

// Register adds the delivery kind to ws: it sends each delivery job's event
// to its subscription's URL, signed, and reads the answer: 2xx completes
// the job; 410 disables the subscription and cancels the job; 429 and 5xx
// retry (after the receiver's Retry-After when it gives one); other
// answers, redirects (never followed) and refused addresses fail the job
// at once. Every attempt's error records the status, the time taken and an
// excerpt of the answer.
func Register(ws *conveyor.Workers, b backend.Records, cfg Config) error {
	d := &deliverer{store: NewStore(b), cfg: cfg.withDefaults()}
	d.hc = &http.Client{
		Transport: &http.Transport{
			// No proxy from the environment: the address check must apply
			// to the receiver itself.
			Proxy:                 nil,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, Control: d.checkAddress}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: d.cfg.Timeout,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
		},
		Timeout:       d.cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return conveyor.Register(ws, Kind, d.deliver, nil)
}

type deliverer struct {
	store *Store
	cfg   Config
	hc    *http.Client
}

// errRefused marks an address the dialer refused.
var errRefused = errors.New("address refused")

// checkAddress runs for every connection after name resolution, so a name
// that resolves (or rebinds) to a private address is refused too.
func (d *deliverer) checkAddress(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q", errRefused, address)
	}
	ip := ap.Addr().Unmap()
	for _, n := range d.cfg.AllowNets {
		if n.Contains(ip) {
			return nil
		}
	}
	if !Public(ip) {
		return fmt.Errorf("%w: %s is not a public address (allow it with webhook.Config.AllowNets)", errRefused, ip)
	}
	return nil
}

// nonPublic are the special-purpose ranges (RFC 6890 and successors) a
// webhook must not reach besides those netip classifies itself.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64 can reach IPv4 private space
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"), // 6to4 embeds any IPv4 address
	netip.MustParsePrefix("::/96"),     // IPv4-compatible (deprecated): ::127.0.0.1
	netip.MustParsePrefix("::ffff:0:0:0/96"),
	netip.MustParsePrefix("100::/64"),  // discard
	netip.MustParsePrefix("fec0::/10"), // site-local (deprecated)
	netip.MustParsePrefix("3fff::/20"), // documentation (RFC 9637)
}

// Public reports whether ip is a public unicast address: not loopback,
// private, link-local, multicast, unspecified or another special range.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// maxExcerpt bounds the answer kept with each attempt.
const maxExcerpt = 512

func (d *deliverer) deliver(ctx context.Context, job *conveyor.Job[DeliveryArgs]) (*DeliveryResult, error) {
	a := job.Args
	if a.Event == nil || a.SubscriptionID == "" {
		return nil, conveyor.NoRetry(errors.New("delivery args need subscription_id and event"))
	}
	sub, err := d.store.Get(ctx, a.SubscriptionID)
	if errors.Is(err, backend.ErrNotFound) {
		return nil, conveyor.Cancel(fmt.Errorf("webhook %s was deleted", a.SubscriptionID))
	}
	if err != nil {
		return nil, err
	}
	if sub.Disabled {
		return nil, conveyor.Cancel(fmt.Errorf("webhook %s is disabled", sub.ID))
	}
	body, err := json.Marshal(a.Event)
	if err != nil {
		return nil, conveyor.NoRetry(err)
	}
	ts := d.cfg.Clock.Now() // one instant for the signatures, their header and the grace period
	sig, err := signAll(sub.signingSecrets(ts), a.Event.ID, ts, body)
	if err != nil {
		return nil, conveyor.NoRetry(err)
	}
	req, err := http.NewRequestWithContext(ctx, sub.method(), sub.URL, strings.NewReader(string(body)))
	if err != nil {
		return nil, conveyor.NoRetry(err)
	}
	for k, v := range sub.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "conveyor-webhook/1")
	req.Header.Set(HeaderID, a.Event.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)

	start := time.Now()
	res, err := d.hc.Do(req)
	took := time.Since(start)
	if err != nil {
		// Not err's text alone: *url.Error quotes the whole URL, whose query
		// may carry a token, and attempt errors are shown to read tokens.
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, errRefused) {
			return nil, conveyor.NoRetry(fmt.Errorf("%s %s: %w", sub.method(), redactURL(sub.URL), err))
		}
		return nil, fmt.Errorf("%s %s after %s: %w", sub.method(), redactURL(sub.URL), took.Round(time.Millisecond), err)
	}
	defer res.Body.Close()
	excerpt := readExcerpt(res.Body)
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return &DeliveryResult{Status: res.StatusCode, DurationMS: float64(took.Microseconds()) / 1000, BodyExcerpt: excerpt}, nil
	}
	failure := fmt.Errorf("HTTP %d after %s: %s", res.StatusCode, took.Round(time.Millisecond), orNone(excerpt))
	switch {
	case res.StatusCode == http.StatusGone:
		reason := fmt.Sprintf("the receiver answered 410 Gone at %s", d.cfg.Clock.Now().UTC().Format(time.RFC3339))
		if err := d.store.disable(ctx, sub.ID, reason, d.cfg.Clock.Now()); err != nil {
			return nil, fmt.Errorf("%w (disabling the webhook failed: %v)", failure, err)
		}
		d.cfg.Logger.Warn("webhook disabled", "webhook", sub.ID, "url", redactURL(sub.URL), "reason", reason)
		return nil, conveyor.Cancel(fmt.Errorf("%w; webhook disabled", failure))
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
		if after, ok := retryAfter(res.Header.Get("Retry-After"), d.cfg.Clock.Now(), d.cfg.MaxRetryAfter); ok {
			return nil, fmt.Errorf("%w: %w", failure, conveyor.RetryAfter(after))
		}
		return nil, failure // the retry policy's backoff
	case res.StatusCode >= 300 && res.StatusCode < 400:
		return nil, conveyor.NoRetry(fmt.Errorf("%w (redirect to %q not followed)", failure, res.Header.Get("Location")))
	}
	return nil, conveyor.NoRetry(failure)
}

// readExcerpt keeps the start of an answer as valid UTF-8 and drains a
// little more so the connection can be reused.
func readExcerpt(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, maxExcerpt))
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 64<<10))
	return strings.ToValidUTF8(strings.TrimSpace(string(b)), "\uFFFD")
}

func orNone(s string) string {
	if s == "" || !utf8.ValidString(s) {
		return "(no body)"
	}
	return s
}

// retryAfter reads a Retry-After header (seconds or an HTTP date), capped
// at limit. A delay of zero or in the past, or a bad value, is not a
// delay: the retry policy's backoff applies instead, so a receiver cannot
// make its deliveries burn their attempts at once.
func retryAfter(v string, now time.Time, limit time.Duration) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0, false
		}
		d = time.Duration(min(secs, int64(limit/time.Second)+1)) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	if d <= 0 {
		return 0, false
	}
	return min(d, limit), true
}
