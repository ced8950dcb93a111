package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"conveyor"
	"conveyor/events"
	"conveyor/internal/clock"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Defaults of Config.
const (
	DefaultAddr              = "127.0.0.1:8080"
	DefaultMaxBodyBytes      = 8 << 20
	DefaultMaxBatch          = 1000
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultReadyTimeout      = 2 * time.Second
)

// Config configures a Server. The zero value of every field but Client means
// its default; auth must be configured (Tokens) or explicitly disabled on a
// loopback address (DisableAuth).
type Config struct {
	// Client is how the API reaches the backend. Required.
	Client *conveyor.Client
	// Addr is the listen address of Start. Default "127.0.0.1:8080".
	Addr string
	// Tokens are the accepted bearer tokens. Default none, which requires
	// DisableAuth.
	Tokens []Token
	// DisableAuth serves the API without tokens. Allowed only when Addr is a
	// loopback address (New fails otherwise); even then each request must
	// arrive on loopback with a loopback Host. Default false.
	DisableAuth bool
	// KnownKinds, when set, reports whether a worker handles a kind; enqueues
	// of other kinds are refused with 422. Default nil: any kind is accepted
	// (the job waits until a worker registers its kind).
	KnownKinds func(kind string) bool
	// MaxBodyBytes caps request bodies (413 beyond). Default 8 MiB.
	MaxBodyBytes int64
	// MaxBatch caps the number of jobs in one batch enqueue (413 beyond).
	// Default 1000.
	MaxBatch int
	// Gatherer is what /metrics exposes. Default prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// Registerer, when set, gets the server's own request metrics
	// (MetricHTTPRequests, MetricHTTPDuration). Default nil: none.
	Registerer prometheus.Registerer
	// TrustedOrigins are extra browser origins (e.g. "https://ops.example.com")
	// allowed to send state-changing requests. Default none: same origin only.
	TrustedOrigins []string
	// Logger receives server errors. Default slog.Default().
	Logger *slog.Logger
	// Events is the bus POST /api/v1/events publishes on (attach a
	// webhook.Dispatcher to it for webhooks). Default nil: that route
	// answers 503.
	Events events.Bus
	// Stream is the bus GET /api/v1/stream reads: an events.Remote to show
	// every process's events. Default Events (this process's only).
	Stream events.Bus
	// Clock supplies "now" for durations and queue ages. Default wall clock.
	Clock conveyor.Clock
	// ReadHeaderTimeout bounds reading request headers. Default 5s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request. Default 30s.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response. Default 30s.
	WriteTimeout time.Duration
	// IdleTimeout bounds keep-alive idleness. Default 2m.
	IdleTimeout time.Duration
	// ReadyTimeout bounds the backend ping of /readyz. Default 2s.
	ReadyTimeout time.Duration
}

// WithDefaults returns a copy of c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	if c.Gatherer == nil {
		c.Gatherer = prometheus.DefaultGatherer
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = DefaultReadyTimeout
	}
	return c
}

// Validate reports a configuration that cannot work or would be unsafe.
func (c Config) Validate() error {
	switch {
	case c.Client == nil:
		return errors.New("server config: Client is required")
	case c.MaxBodyBytes < 0:
		return fmt.Errorf("server config: MaxBodyBytes must be >= 0, got %d", c.MaxBodyBytes)
	case c.MaxBatch < 0:
		return fmt.Errorf("server config: MaxBatch must be >= 0, got %d", c.MaxBatch)
	case c.DisableAuth && len(c.Tokens) > 0:
		return errors.New("server config: DisableAuth and Tokens are exclusive")
	case c.DisableAuth && !addrIsLoopback(c.Addr):
		return fmt.Errorf("server config: auth can be disabled only on a loopback address, not %q; set tokens (CONVEYOR_TOKENS)", c.Addr)
	case !c.DisableAuth && len(c.Tokens) == 0:
		return errors.New("server config: no API tokens configured (set CONVEYOR_TOKENS=\"token:admin,token2:read\" or a tokens file)")
	}
	return nil
}

// Server serves the conveyor HTTP API. Build it with New.
type Server struct {
	cfg    Config
	log    *slog.Logger
	auth   *authenticator
	csrf   *http.CrossOriginProtection
	client *conveyor.Client
	h      http.Handler
	met    *httpMetrics
	promh  http.Handler

	// streams ends with Stop: WebSocket streams are hijacked connections,
	// which http.Server.Shutdown does not close.
	streams    context.Context
	endStreams context.CancelFunc

	mu   sync.Mutex
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// New validates cfg and builds the server's routes. It does not listen:
// call Start, or mount Handler.
func New(cfg Config) (*Server, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a, err := newAuthenticator(cfg.Tokens)
	if err != nil {
		return nil, fmt.Errorf("server config: %w", err)
	}
	csrf := http.NewCrossOriginProtection()
	for _, o := range cfg.TrustedOrigins {
		if err := csrf.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("server config: trusted origin: %w", err)
		}
	}
	s := &Server{cfg: cfg, log: cfg.Logger, auth: a, csrf: csrf, client: cfg.Client}
	s.streams, s.endStreams = context.WithCancel(context.Background())
	if cfg.Registerer != nil {
		if s.met, err = newHTTPMetrics(cfg.Registerer); err != nil {
			return nil, fmt.Errorf("server metrics: %w", err)
		}
	}
	s.promh = promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{ErrorLog: errLogger{s}})
	s.h = s.routes()
	return s, nil
}

// Handler returns the server's root handler, for mounting in another
// http.Server or in tests.
func (s *Server) Handler() http.Handler { return s.h }

// Start listens on Config.Addr and serves in the background. It returns
// once the listener is bound (so a busy port is reported here). It does not
// block; call Stop to shut down.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("server: already started")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w", s.cfg.Addr, err)
	}
	// The listen address may resolve to more than loopback (a host name);
	// the bound address is what counts.
	if s.cfg.DisableAuth && !addrIsLoopback(ln.Addr().String()) {
		ln.Close()
		return fmt.Errorf("server: auth is disabled but %s is not a loopback address", ln.Addr())
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.h,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	s.done = make(chan struct{})
	srv, done := s.srv, s.done
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return nil
}

// Addr returns the address the server listens on once started (useful with
// port 0), or Config.Addr before.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return s.ln.Addr().String()
	}
	return s.cfg.Addr
}

// Stop shuts the server down gracefully: it stops accepting, lets requests
// in flight finish until ctx ends, then closes what is left. Idempotent.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.mu.Unlock()
	s.endStreams()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	if err != nil {
		_ = srv.Close()
	}
	<-done
	return err
}
