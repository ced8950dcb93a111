package server

import (
	"context"
	"net/http"

	"conveyor/backend"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HealthHandler serves /healthz, /readyz (a ping of b) and /metrics (g)
// without auth, for processes that run no API, such as a standalone worker.
// Bind it to a private address: the metrics name queues and kinds.
func HealthHandler(b backend.Backend, g prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), DefaultReadyTimeout)
		defer cancel()
		if err := b.Ping(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: errorDetail{Code: CodeUnavailable, Message: "backend " + b.Capabilities().Name + " is not reachable"}})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "backend": b.Capabilities().Name})
	})
	if g == nil {
		g = prometheus.DefaultGatherer
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	return mux
}
