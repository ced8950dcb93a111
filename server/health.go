package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"conveyor/backend"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HealthHandler serves /healthz, /readyz (a ping of b) and /metrics (g)
// without auth, for processes that run no API, such as a standalone worker.
// Bind it to a private address: the metrics name queues and kinds. log
// records why a readiness check failed, which the answer does not show
// (nil: slog.Default()).
func HealthHandler(b backend.Backend, g prometheus.Gatherer, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if ae := checkReady(r.Context(), b, DefaultReadyTimeout, log); ae != nil {
			writeJSON(w, ae.Status, errorBody{Error: errorDetail{Code: ae.Code, Message: ae.Message}})
			return
		}
		writeJSON(w, http.StatusOK, readyBody(b))
	})
	if g == nil {
		g = prometheus.DefaultGatherer
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	return mux
}

// checkReady pings b within timeout for a /readyz answer: the API's route
// and HealthHandler share it so a probe sees one behaviour wherever it
// points. The ping error is logged rather than answered because both
// endpoints may be reached without a token and its text can hold addresses.
func checkReady(ctx context.Context, b backend.Backend, timeout time.Duration, log *slog.Logger) *apiError {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := b.Ping(ctx); err != nil {
		log.Warn("readiness check failed", "backend", b.Capabilities().Name, "err", err)
		return errorf(http.StatusServiceUnavailable, CodeUnavailable, "backend %s is not reachable", b.Capabilities().Name)
	}
	return nil
}

// readyBody is the answer of a /readyz whose ping succeeded.
func readyBody(b backend.Backend) map[string]string {
	return map[string]string{"status": "ok", "backend": b.Capabilities().Name}
}
