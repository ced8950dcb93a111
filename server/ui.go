package server

import (
	"embed"
	"io/fs"
	"net/http"
)

// The admin UI (DESIGN.md §8): a static page and plain ES modules in ui/,
// with no build step, that use only the public API (dashboard, jobs with
// filters and detail, queues, schedules, webhooks and their deliveries, with
// their actions). The page polls every 2 s; when the server has an event
// bus, job events from /api/v1/stream make it poll at once and fill the
// dashboard's event feed (the token rides in the WebSocket subprotocol).
// The files hold no data, so they are served without a token; the page asks
// for one when the API answers 401 and keeps it in the tab's sessionStorage.
// Job data is put into the page as text nodes only, and the CSP below allows
// no inline script or style and no eval.
//
//go:embed ui
var uiFiles embed.FS

func uiHandler() http.Handler {
	sub, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// Scripts only from our own files, no framing (clickjacking), no
		// sniffing.
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// The files are embedded without modification times: ask browsers
		// to fetch them again rather than run modules of an older binary.
		h.Set("Cache-Control", "no-cache")
		if r.URL.Path == "/" {
			http.ServeFileFS(w, r, sub, "index.html")
			return
		}
		http.StripPrefix("/ui", files).ServeHTTP(w, r)
	})
}
