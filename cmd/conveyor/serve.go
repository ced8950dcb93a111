package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"conveyor"
	"conveyor/backend"
	"conveyor/events"
	"conveyor/internal/demo"
	"conveyor/schedule"
	"conveyor/server"
	"conveyor/webhook"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
)

// runOptions say which services a long-running command starts.
type runOptions struct {
	dev         bool   // dev mode: auth off on loopback when no tokens, demo kinds, fast heartbeats
	addr        string // API listen address; "" = no API
	healthAddr  string // health/metrics-only listen address (worker); "" = none
	tokensFile  string // file of TOKEN:SCOPE lines; "" = $CONVEYOR_TOKENS
	worker      bool   // run a worker
	scheduler   bool   // run a scheduler
	demo        bool   // register the demo kinds
	queues      string // "q1=10,q2=5"
	strictKinds bool   // API refuses kinds the worker does not know (422)
	logLevel    string
	grace       time.Duration
	hookAllow   string // networks webhooks may reach although not public
	broadcast   bool   // share this process's events with other processes through the backend
}

func addRunFlags(cmd *cobra.Command, o *runOptions) {
	f := cmd.Flags()
	f.StringVar(&o.queues, "queues", "default=10", "queues to work and their concurrency: q1=10,q2=5")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	f.DurationVar(&o.grace, "shutdown-grace", 0, "how long running jobs may finish on Ctrl-C/SIGTERM before they are handed back (default 30s, 10s in dev)")
	def := ""
	if o.dev {
		def = devWebhookAllow
	}
	f.BoolVar(&o.broadcast, "broadcast-events", false, "share this process's events with other processes on the backend (PostgreSQL, Redis, NATS, SQLite) so every server's /api/v1/stream shows them; costs a message per event (on SQLite, a write)")
	f.StringVar(&o.hookAllow, "webhook-allow", def, "comma-separated networks (CIDR) webhooks may reach although they are not public, e.g. 10.0.0.0/8")
}

// devWebhookAllow lets dev deliver webhooks to receivers on this machine and
// the local network; other commands refuse every non-public address.
const devWebhookAllow = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"

// parseNets reads the --webhook-allow list.
func parseNets(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return nil, usageErrorf("--webhook-allow %q: %v", item, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func addAPIFlags(cmd *cobra.Command, o *runOptions, defAddr string) {
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", defAddr, "API listen address")
	f.StringVar(&o.tokensFile, "tokens-file", "", "file with one TOKEN:SCOPE per line (scope read or admin); default $"+envTokens)
}

func newDevCmd(g *globals) *cobra.Command {
	o := &runOptions{dev: true, worker: true, scheduler: true, demo: true, strictKinds: true}
	cmd := &cobra.Command{
		Use:   "dev [--addr 127.0.0.1:8080] [--backend sqlite:conveyor.db]",
		Short: "Run everything in one process: API, admin page, worker with demo jobs, scheduler, maintenance",
		Long: `dev runs the API and admin page, a worker with the demo kinds (demo.sleep, demo.fail,
demo.echo, demo.report), the scheduler (with the demo schedule demo.tick, demo.echo every
minute) and the maintenance services in one process, on sqlite:conveyor.db
unless --backend or $CONVEYOR_BACKEND says otherwise. On a loopback address without
$CONVEYOR_TOKENS the API needs no token. Ctrl-C stops gracefully.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return g.runServices(cmd.Context(), o) },
	}
	addAPIFlags(cmd, o, server.DefaultAddr)
	addRunFlags(cmd, o)
	return cmd
}

func newServerCmd(g *globals) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "server [--addr :8080] [--worker [--demo]]",
		Short: "Serve the REST API, admin page and metrics (and optionally a worker)",
		Long: `server serves the REST API under /api/v1, the admin page, /metrics, /healthz and /readyz.
Tokens are required: $CONVEYOR_TOKENS="token1:admin,token2:read" or --tokens-file.
With --worker it also runs a worker (this binary's worker knows only the demo kinds,
so --worker goes with --demo; real workers are Go programs using conveyor.NewWorker).`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.demo && !o.worker {
				return usageErrorf("--demo needs --worker")
			}
			return g.runServices(cmd.Context(), o)
		},
	}
	addAPIFlags(cmd, o, ":8080")
	addRunFlags(cmd, o)
	cmd.Flags().BoolVar(&o.worker, "worker", false, "also run a worker in this process")
	cmd.Flags().BoolVar(&o.demo, "demo", false, "register the demo kinds on the worker")
	cmd.Flags().BoolVar(&o.strictKinds, "reject-unknown-kinds", false, "answer 422 to enqueues of kinds this process's worker does not handle")
	cmd.Flags().BoolVar(&o.scheduler, "scheduler", false, "also run a scheduler (any number may run: each fire enqueues one job)")
	return cmd
}

func newWorkerCmd(g *globals) *cobra.Command {
	o := &runOptions{worker: true}
	cmd := &cobra.Command{
		Use:   "worker --backend URL [--queues q1=10,q2=5] [--demo]",
		Short: "Run a worker (and the maintenance services) on a backend",
		Long: `worker claims and runs jobs from the given queues. This binary's worker knows only the
demo kinds (--demo); real workers are Go programs using conveyor.NewWorker. --health-addr
serves /healthz, /readyz and /metrics without auth: bind it to a private address.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return g.runServices(cmd.Context(), o) },
	}
	addRunFlags(cmd, o)
	cmd.Flags().BoolVar(&o.demo, "demo", false, "register the demo kinds (and the demo schedule)")
	cmd.Flags().BoolVar(&o.scheduler, "scheduler", true, "also run a scheduler (any number may run: each fire enqueues one job)")
	cmd.Flags().StringVar(&o.healthAddr, "health-addr", "", "serve /healthz, /readyz and /metrics here (e.g. 127.0.0.1:9090); default off")
	return cmd
}

// parseQueues reads "q1=10,q2=5" (a bare name means concurrency 10).
func parseQueues(s string) (map[string]int, error) {
	out := map[string]int{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, n, hasN := strings.Cut(item, "=")
		conc := 10
		if hasN {
			var err error
			conc, err = strconv.Atoi(n)
			if err != nil || conc < 1 || conc > 10000 {
				return nil, usageErrorf("--queues %q: concurrency of %q must be from 1 to 10000", s, name)
			}
		}
		if err := conveyor.ValidateQueue(name); err != nil {
			return nil, usageErrorf("--queues %q: %v", s, err)
		}
		if _, dup := out[name]; dup {
			return nil, usageErrorf("--queues %q: queue %q given twice", s, name)
		}
		out[name] = conc
	}
	if len(out) == 0 {
		return nil, usageErrorf("--queues: give at least one queue, e.g. default=10")
	}
	return out, nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, usageErrorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// loadTokens reads the API tokens from --tokens-file or $CONVEYOR_TOKENS.
func loadTokens(file string) ([]server.Token, error) {
	if file != "" {
		t, err := server.LoadTokensFile(file)
		return t, withCode(exitUsage, err)
	}
	t, err := server.ParseTokens(os.Getenv(envTokens))
	if err != nil {
		return nil, usageErrorf("$%s: %v", envTokens, err)
	}
	return t, nil
}

// runServices starts what o asks for, waits for Ctrl-C/SIGTERM (the
// command's context) and shuts everything down in order: the API first (no
// new work comes in), then the worker (running jobs finish or are handed
// back), then the backend.
func (g *globals) runServices(ctx context.Context, o *runOptions) error {
	if g.serverURL != "" {
		return usageErrorf("--server does not apply here: this command runs against a backend (--backend)")
	}
	level, err := parseLevel(o.logLevel)
	if err != nil {
		return err
	}
	queues, err := parseQueues(o.queues)
	if err != nil {
		return err
	}
	hookAllow, err := parseNets(o.hookAllow)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))

	url := g.resolveBackend()
	b, err := openBackend(ctx, url, false)
	if err != nil {
		return err
	}
	defer b.Close()
	client, err := conveyor.NewClient(b, conveyor.ClientConfig{})
	if err != nil {
		return err
	}

	// Events flow in this process: the worker's job lifecycle events and
	// the API's POST /api/v1/events go on one bus, where the webhook
	// dispatcher turns them into delivery jobs in the backend.
	bus := events.NewMemory()
	if _, err := webhook.NewDispatcher(client, webhook.DispatcherConfig{Logger: log}).Attach(bus); err != nil {
		return err
	}

	// With --broadcast-events, this process's events also go to the
	// backend (asynchronously) and the stream shows every process's.
	var stream events.Bus = bus
	if o.broadcast {
		br, ok := b.(backend.Broadcaster)
		if !ok || !b.Capabilities().Broadcast {
			return usageErrorf("--broadcast-events: the %s backend cannot carry events between processes", b.Capabilities().Name)
		}
		remote := events.NewRemote(br)
		defer remote.Close()
		stopForward, err := events.Forward(bus, remote, func(err error) { log.Debug("broadcasting an event failed", "err", err) })
		if err != nil {
			return err
		}
		defer stopForward()
		stream = remote
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	var (
		ws *conveyor.Workers
		w  *conveyor.Worker
	)
	if o.worker {
		ws = conveyor.NewWorkers()
		if o.demo {
			if err := demo.Register(ws, demo.Options{}); err != nil {
				return err
			}
		}
		if len(ws.Kinds()) == 0 {
			return usageErrorf("the worker has no job kinds: this binary knows only the demo kinds (--demo); real workers are Go programs using conveyor.NewWorker")
		}
		if err := webhook.Register(ws, b, webhook.Config{AllowNets: hookAllow, Logger: log}); err != nil {
			return err
		}
		hook, stopHook := events.WorkerHook(bus, func(err error) { log.Warn("publishing a job event failed", "err", err) })
		defer stopHook()
		cfg := conveyor.WorkerConfig{Queues: queues, Logger: log, Registerer: reg, ShutdownGrace: o.grace, OnJobEvent: hook}
		if o.dev {
			// Progress of demo.report shows up within a second.
			cfg.HeartbeatInterval = time.Second
			if cfg.ShutdownGrace == 0 {
				cfg.ShutdownGrace = 10 * time.Second
			}
		}
		if w, err = conveyor.NewWorker(b, ws, cfg); err != nil {
			return withCode(exitUsage, err)
		}
	}

	var sched *schedule.Scheduler
	if o.scheduler {
		cfg := schedule.Config{Logger: log}
		if o.demo {
			cfg.Schedules = demo.Schedules()
		}
		if sched, err = schedule.New(client, cfg); err != nil {
			return withCode(exitUsage, err)
		}
	}

	var srv *server.Server
	if o.addr != "" {
		tokens, err := loadTokens(o.tokensFile)
		if err != nil {
			return err
		}
		scfg := server.Config{Client: client, Addr: o.addr, Tokens: tokens, Gatherer: reg, Registerer: reg, Logger: log, Events: bus, Stream: stream}
		if len(tokens) == 0 && o.dev {
			if !isLoopback(o.addr) {
				return usageErrorf("dev on %s (not loopback) needs API tokens: set $%s=\"token:admin\" or --tokens-file", o.addr, envTokens)
			}
			scfg.DisableAuth = true
		}
		if o.strictKinds && ws != nil {
			scfg.KnownKinds = ws.Has
		}
		if srv, err = server.New(scfg); err != nil {
			return withCode(exitUsage, err)
		}
	}

	if w != nil {
		// Not ctx: the worker would stop itself at the first signal, before
		// the API; this function stops everything in order below.
		if err := w.Start(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
	}
	if sched != nil {
		if err := sched.Start(context.WithoutCancel(ctx)); err != nil {
			if w != nil {
				_ = w.Stop(context.Background())
			}
			return fmt.Errorf("start scheduler: %w", err)
		}
		defer sched.Stop()
	}
	if srv != nil {
		if err := srv.Start(ctx); err != nil {
			if w != nil {
				_ = w.Stop(context.Background())
			}
			return withCode(exitUsage, err)
		}
	}
	var health *http.Server
	if o.healthAddr != "" {
		ln, err := net.Listen("tcp", o.healthAddr)
		if err != nil {
			if w != nil {
				_ = w.Stop(context.Background())
			}
			return withCode(exitUsage, fmt.Errorf("--health-addr: %w", err))
		}
		health = &http.Server{Handler: server.HealthHandler(b, reg, log), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute}
		go func() { _ = health.Serve(ln) }()
		log.Info("health endpoints up", "addr", ln.Addr().String())
	}

	g.banner(o, url, b, srv, ws, queues, sched)
	<-ctx.Done()
	log.Info("shutting down (Ctrl-C again to hurry)")

	// A second signal cuts the grace short.
	stopCtx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var errs []error
	if srv != nil {
		sctx, cancel := context.WithTimeout(stopCtx, 10*time.Second)
		errs = append(errs, srv.Stop(sctx))
		cancel()
	}
	if health != nil {
		_ = health.Close()
	}
	if sched != nil {
		sched.Stop() // no new fires while the worker drains
	}
	if w != nil {
		errs = append(errs, w.Stop(stopCtx))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// banner tells a person what runs where and how to try it.
func (g *globals) banner(o *runOptions, url string, b backend.Backend, srv *server.Server, ws *conveyor.Workers, queues map[string]int, sched *schedule.Scheduler) {
	out := g.stdout
	name := "conveyor"
	switch {
	case o.dev:
		name += " dev"
	case srv != nil:
		name += " server"
	default:
		name += " worker"
	}
	fmt.Fprintf(out, "%s\n  backend  %s (%s)\n", name, backend.Redact(url), b.Capabilities().Name)
	if ws != nil {
		var qs []string
		for q, n := range queues {
			qs = append(qs, fmt.Sprintf("%s=%d", q, n))
		}
		sort.Strings(qs)
		fmt.Fprintf(out, "  worker   queues %s; kinds %s\n", strings.Join(qs, ","), strings.Join(ws.Kinds(), ", "))
	}
	if sched != nil {
		fmt.Fprintln(out, "  scheduler on (conveyor schedule list)")
	}
	if srv == nil {
		fmt.Fprintln(out, "Ctrl-C stops gracefully.")
		return
	}
	host := srv.Addr()
	if h, p, err := net.SplitHostPort(host); err == nil && (h == "" || h == "::" || h == "0.0.0.0") {
		host = net.JoinHostPort("localhost", p)
	}
	base := "http://" + host
	auth := ""
	if o.dev && len(os.Getenv(envTokens)) == 0 && o.tokensFile == "" {
		fmt.Fprintf(out, "  API      %s/api/v1  (no token needed: loopback only)\n", base)
	} else {
		fmt.Fprintf(out, "  API      %s/api/v1  (Authorization: Bearer <token>)\n", base)
		auth = ` -H "Authorization: Bearer $CONVEYOR_TOKEN"`
	}
	fmt.Fprintf(out, "  admin    %s/\n  metrics  %s/metrics\n", base, base)
	if ws != nil && ws.Has(demo.KindFail) {
		fmt.Fprintf(out, "\nEnqueue a demo job that fails twice, then succeeds:\n  curl -s -X POST %s/api/v1/jobs%s -d '{\"kind\":\"demo.fail\",\"args\":{\"times\":2}}'\n", base, auth)
		fmt.Fprintf(out, "then watch it:\n  conveyor job list --server %s\n", base)
	}
	fmt.Fprintln(out, "\nCtrl-C stops gracefully.")
}
