package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"conveyor/webhook"

	"github.com/stretchr/testify/require"
)

// buildBinary compiles the conveyor binary once per test into a temp dir.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "conveyor")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// TestBinaryDev is the README's flow end to end with the real binary:
// `conveyor dev` on a free port and a temp SQLite file, a demo.fail job that
// fails twice enqueued through the CLI, and `job status --json` polled until
// it says completed at attempt 3. Then Ctrl-C stops dev cleanly.
func TestBinaryDev(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	dir := t.TempDir()
	dbURL := "sqlite:" + filepath.Join(dir, "conveyor.db")

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	dev := exec.CommandContext(ctx, bin, "dev", "--addr", "127.0.0.1:0", "--backend", dbURL)
	dev.Dir = dir
	dev.Env = cleanEnv()
	stdout, err := dev.StdoutPipe()
	require.NoError(t, err)
	stderr := &syncBuffer{}
	dev.Stderr = stderr
	require.NoError(t, dev.Start())
	t.Cleanup(func() { _ = dev.Process.Kill(); _ = dev.Wait() })

	// The banner names the bound address and prints a curl line.
	apiRe := regexp.MustCompile(`API\s+(http://127\.0\.0\.1:\d+)/api/v1`)
	var base string
	var banner strings.Builder
	sc := bufio.NewScanner(stdout)
	for base == "" && sc.Scan() {
		banner.WriteString(sc.Text() + "\n")
		if m := apiRe.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
		}
	}
	require.NotEmpty(t, base, "banner: %s\nstderr: %s", banner.String(), stderr.String())
	for sc.Scan() {
		banner.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "Ctrl-C") {
			break
		}
	}
	require.Contains(t, banner.String(), "curl -s -X POST "+base+"/api/v1/jobs")
	require.Contains(t, banner.String(), "scheduler on")
	go func() { _, _ = io.Copy(io.Discard, stdout) }()

	cli := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = dir
		cmd.Env = cleanEnv()
		out, err := cmd.Output()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		return string(out), code
	}

	out, code := cli("enqueue", "demo.fail", "--args", `{"times":2}`, "--server", base, "--json")
	require.Zero(t, code, out)
	var enq struct {
		ID        string `json:"id"`
		Duplicate bool   `json:"duplicate"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &enq), out)
	require.NotEmpty(t, enq.ID)

	var job struct {
		State   string `json:"state"`
		Attempt int    `json:"attempt"`
		Errors  []struct {
			Message string `json:"message"`
		} `json:"errors"`
		Result json.RawMessage `json:"result"`
	}
	// Direct on the backend file, as a second process next to dev.
	require.Eventually(t, func() bool {
		out, code := cli("job", "status", enq.ID, "--json", "--backend", dbURL)
		require.Zero(t, code, out)
		require.NoError(t, json.Unmarshal([]byte(out), &job), out)
		require.NotEqual(t, "failed", job.State)
		return job.State == "completed"
	}, time.Minute, 100*time.Millisecond)
	require.Equal(t, 3, job.Attempt)
	require.Len(t, job.Errors, 2)
	require.JSONEq(t, `{"succeeded_at_attempt":3}`, string(job.Result))

	// The same through the server.
	out, code = cli("job", "status", enq.ID, "--json", "--server", base)
	require.Zero(t, code, out)
	require.Contains(t, out, `"completed"`)

	// The scheduler runs in dev: the demo schedule is listed, and a schedule
	// added through the CLI fires within seconds and its job completes.
	out, code = cli("schedule", "list", "--server", base)
	require.Zero(t, code, out)
	require.Contains(t, out, "demo.tick")
	out, code = cli("schedule", "add", "every-second", "--cron", "* * * * * *", "--kind", "demo.echo", "--args", `{"from":"cron"}`, "--server", base)
	require.Zero(t, code, out)
	require.Eventually(t, func() bool {
		out, code := cli("job", "list", "--kind", "demo.echo", "--state", "completed", "--json", "--server", base)
		require.Zero(t, code, out)
		return regexp.MustCompile(`"schedule":\s*"every-second"`).MatchString(out)
	}, time.Minute, 200*time.Millisecond)
	out, code = cli("schedule", "remove", "every-second", "--server", base)
	require.Zero(t, code, out)

	// Webhooks: a subscription to doc.* on a real receiver on this machine
	// (dev allows loopback); an event published through the API arrives
	// signed with the subscription's secret.
	got := make(chan *http.Request, 4)
	gotBody := make(chan []byte, 4)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- r
		gotBody <- body
	}))
	defer recv.Close()
	var sub webhook.Subscription
	postJSON(t, base+"/api/v1/webhooks", `{"events":["doc.*"],"url":"`+recv.URL+`/hook"}`, http.StatusCreated, &sub)
	// The dispatcher reads subscriptions at most once a second, so publish
	// until one arrives; it must be one of the events published.
	published := map[string]bool{}
	deadline := time.After(time.Minute)
	for delivered := false; !delivered; {
		var ev struct{ ID string }
		postJSON(t, base+"/api/v1/events", `{"type":"doc.created","subject":"d1","data":{"n":1}}`, http.StatusAccepted, &ev)
		published[ev.ID] = true
		select {
		case r := <-got:
			body := <-gotBody
			require.NoError(t, webhook.Verify(sub.Secret, r.Header, body, time.Now(), time.Minute))
			require.True(t, published[r.Header.Get(webhook.HeaderID)], "delivered an event that was published")
			require.Contains(t, string(body), `"type":"doc.created"`)
			delivered = true
		case <-time.After(300 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no delivery; stderr: %s", stderr.String())
		}
	}

	// Ctrl-C: graceful stop, exit 0.
	require.NoError(t, dev.Process.Signal(syscall.SIGINT))
	require.NoError(t, dev.Wait(), "stderr: %s", stderr.String())
	require.Contains(t, stderr.String(), "stopped")
}

// postJSON posts body to url and decodes the answer, which must have status want.
func postJSON(t *testing.T, url, body string, want int, out any) {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, want, res.StatusCode, "%s", data)
	require.NoError(t, json.Unmarshal(data, out), "%s", data)
}

// syncBuffer is a bytes buffer safe for the exec copier and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cleanEnv is the test process's environment without conveyor's own
// variables, so a developer's settings cannot change what the test runs.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CONVEYOR_") {
			env = append(env, kv)
		}
	}
	return env
}
