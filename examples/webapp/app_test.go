package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"conveyor"
	"conveyor/backend/sqlite"

	"github.com/stretchr/testify/require"
)

type bundle struct {
	url string
	b   *sqlite.Backend
	app *App
}

func setup(t *testing.T) *bundle {
	t.Helper()
	b, err := sqlite.New(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "webapp.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	app, err := NewApp(t.Context(), b, log)
	require.NoError(t, err)
	w, err := conveyor.NewWorker(b, app.Workers(), conveyor.WorkerConfig{Logger: log, PollInterval: 20 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, w.Start(t.Context()))
	t.Cleanup(func() { _ = w.Stop(context.Background()) })
	hs := httptest.NewServer(app.Routes())
	t.Cleanup(hs.Close)
	return &bundle{url: hs.URL, b: b, app: app}
}

func call(t *testing.T, method, url, body string, out any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	if out != nil {
		require.NoError(t, json.NewDecoder(res.Body).Decode(out))
	}
	return res.StatusCode
}

func TestCreateJobTruncatesTable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, name := range []string{"a", "b", "c"} {
		require.Equal(t, 201, call(t, "POST", b.url+"/events", `{"name":"`+name+`"}`, nil))
	}
	var count map[string]int64
	call(t, "GET", b.url+"/events", "", &count)
	require.Equal(t, int64(3), count["events"])

	var created map[string]string
	require.Equal(t, http.StatusAccepted, call(t, "POST", b.url+"/create-jobs/", `{"table":"events"}`, &created))
	require.Equal(t, "enqueued", created["status"])
	require.NotEmpty(t, created["job_id"])

	var status map[string]any
	require.Eventually(t, func() bool {
		require.Equal(t, 200, call(t, "GET", b.url+"/job-status/"+created["job_id"], "", &status))
		return status["status"] == "completed"
	}, 30*time.Second, 20*time.Millisecond)
	require.Equal(t, map[string]any{"table": "events", "deleted": float64(3)}, status["result"])
	require.NotEmpty(t, status["created_at"])
	require.NotEmpty(t, status["updated_at"])

	call(t, "GET", b.url+"/events", "", &count)
	require.Zero(t, count["events"])

	// The request was recorded in the same transaction as the enqueue.
	var jobID string
	require.NoError(t, b.b.DB().QueryRowContext(t.Context(), `SELECT job_id FROM truncations`).Scan(&jobID))
	require.Equal(t, created["job_id"], jobID)
}

func TestCreateJobErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var e map[string]string
	require.Equal(t, 400, call(t, "POST", b.url+"/create-jobs/", `{"table":"users"}`, &e))
	require.Contains(t, e["error"], "users")
	require.Equal(t, 400, call(t, "POST", b.url+"/create-jobs/", `{"tabel":"events"}`, &e))
	require.Equal(t, 404, call(t, "GET", b.url+"/job-status/0190a5c4-7b1e-7c3d-9b2a-1234567890ab", "", &e))

	// When the app's own write fails, the enqueue rolls back with it.
	_, err := b.b.DB().ExecContext(t.Context(), `DROP TABLE truncations`)
	require.NoError(t, err)
	require.Equal(t, 500, call(t, "POST", b.url+"/create-jobs/", ``, &e))
	res, err := b.app.client.List(t.Context(), nil)
	require.NoError(t, err)
	require.Empty(t, res.Jobs, "a rolled-back transaction leaves no job")
}
