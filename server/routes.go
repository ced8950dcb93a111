package server

import (
	"fmt"
	"net/http"
	"runtime/debug"
	"time"
)

// Route is one API route: its method, its path pattern (net/http ServeMux
// syntax) and whether it needs a token. Routes lists them so tests can check
// that the OpenAPI document covers every one.
type Route struct {
	Method string
	Path   string
	// Public routes are served without a token.
	Public bool
}

// apiHandler is a handler that returns its error for writeError.
type apiHandler func(w http.ResponseWriter, r *http.Request) error

type route struct {
	Route
	h apiHandler
}

func (s *Server) routeTable() []route {
	return []route{
		{Route{"GET", "/healthz", true}, s.healthz},
		{Route{"GET", "/readyz", true}, s.readyz},
		{Route{"GET", "/metrics", false}, s.metrics},
		{Route{"GET", "/api/v1/openapi.json", true}, serveOpenAPI},
		{Route{"POST", "/api/v1/jobs", false}, s.postJobs},
		{Route{"GET", "/api/v1/jobs", false}, s.listJobs},
		{Route{"GET", "/api/v1/jobs/{id}", false}, s.getJob},
		{Route{"DELETE", "/api/v1/jobs/{id}", false}, s.deleteJob},
		{Route{"POST", "/api/v1/jobs/{id}/cancel", false}, s.cancelJob},
		{Route{"POST", "/api/v1/jobs/{id}/retry", false}, s.retryJob},
		{Route{"GET", "/api/v1/queues", false}, s.listQueues},
		{Route{"POST", "/api/v1/queues/{name}/pause", false}, s.pauseQueue},
		{Route{"POST", "/api/v1/queues/{name}/resume", false}, s.resumeQueue},
		{Route{"GET", "/api/v1/schedules", false}, s.listSchedules},
		{Route{"POST", "/api/v1/schedules", false}, s.createSchedule},
		{Route{"GET", "/api/v1/schedules/{name}", false}, s.getSchedule},
		{Route{"PUT", "/api/v1/schedules/{name}", false}, s.putSchedule},
		{Route{"DELETE", "/api/v1/schedules/{name}", false}, s.deleteSchedule},
		{Route{"POST", "/api/v1/schedules/{name}/trigger", false}, s.triggerSchedule},
		{Route{"GET", "/api/v1/webhooks", false}, s.listWebhooks},
		{Route{"POST", "/api/v1/webhooks", false}, s.createWebhook},
		{Route{"GET", "/api/v1/webhooks/{id}", false}, s.getWebhook},
		{Route{"PUT", "/api/v1/webhooks/{id}", false}, s.putWebhook},
		{Route{"DELETE", "/api/v1/webhooks/{id}", false}, s.deleteWebhook},
		{Route{"GET", "/api/v1/webhooks/{id}/deliveries", false}, s.webhookDeliveries},
		{Route{"POST", "/api/v1/webhooks/{id}/rotate-secret", false}, s.rotateWebhookSecret},
		{Route{"POST", "/api/v1/events", false}, s.postEvent},
		{Route{"GET", "/api/v1/stream", false}, s.stream},
	}
}

// Routes lists every route the server answers besides the static admin page.
func (s *Server) Routes() []Route {
	rt := s.routeTable()
	out := make([]Route, len(rt))
	for i, r := range rt {
		out[i] = r.Route
	}
	return out
}

// routes builds the root handler: a ServeMux with method patterns, wrapped
// so that unmatched paths and methods get JSON errors like everything else.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routeTable() {
		mux.Handle(rt.Method+" "+rt.Path, s.wrap(rt))
	}
	mux.Handle("GET /{$}", uiHandler())
	mux.Handle("GET /ui/", uiHandler())

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// No pattern matched: let the mux say whether it is a 404, a 405
		// (with its Allow header) or a redirect to a cleaned path, and put
		// the first two in our JSON shape.
		rec := &headerRecorder{header: http.Header{}}
		h, _ := mux.Handler(r)
		h.ServeHTTP(rec, r)
		switch rec.status {
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", rec.header.Get("Allow"))
			s.writeError(w, r, errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, rec.header.Get("Allow")))
		case http.StatusNotFound:
			s.writeError(w, r, errorf(http.StatusNotFound, CodeNotFound, "no route %s %s", r.Method, r.URL.Path))
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// wrap applies, in order: panic recovery, the body limit, CSRF protection
// and auth.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w := &statusWriter{ResponseWriter: rw}
		defer func() { s.met.observe(rt.Path, r.Method, w.status, time.Since(start)) }()
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("api handler panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				s.writeError(w, r, errorf(http.StatusInternalServerError, CodeInternal, "internal error"))
			}
		}()
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		if err := s.csrf.Check(r); err != nil {
			s.writeError(w, r, errorf(http.StatusForbidden, CodeForbidden, "cross-origin request refused: %v", err))
			return
		}
		if !rt.Public {
			if err := s.authorize(r); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		if err := rt.h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// headerRecorder captures the status and headers of the mux's own 404/405
// answers without writing them.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(status int)      { h.status = status }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if ae := checkReady(r.Context(), s.client.Backend(), s.cfg.ReadyTimeout, s.log); ae != nil {
		return ae
	}
	writeJSON(w, http.StatusOK, readyBody(s.client.Backend()))
	return nil
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) error {
	s.promh.ServeHTTP(w, r)
	return nil
}

type errLogger struct{ s *Server }

func (l errLogger) Println(v ...any) { l.s.log.Error("metrics: " + fmt.Sprint(v...)) }
