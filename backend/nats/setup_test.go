package nats

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"conveyor/backend/backendtest"

	"github.com/nats-io/nats-server/v2/server"
	natsio "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

var (
	embeddedOnce sync.Once
	embeddedURL  string
	embeddedErr  error
	embeddedSrv  *server.Server
	embeddedDir  string
)

// TestMain shuts the embedded server down after the package's tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if embeddedSrv != nil {
		embeddedSrv.Shutdown()
		embeddedSrv.WaitForShutdown()
		_ = os.RemoveAll(embeddedDir)
	}
	os.Exit(code)
}

// serverURL returns CONVEYOR_TEST_NATS, or the URL of an in-process
// nats-server with JetStream started once for the package's tests.
func serverURL(t testing.TB) string {
	t.Helper()
	if u := backendtest.NATSURL(); u != "" {
		return u
	}
	embeddedOnce.Do(func() {
		embeddedDir, embeddedErr = os.MkdirTemp("", "conveyor-nats-test-")
		if embeddedErr != nil {
			return
		}
		embeddedSrv, embeddedErr = server.NewServer(&server.Options{
			Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: embeddedDir, NoLog: true, NoSigs: true,
		})
		if embeddedErr != nil {
			return
		}
		go embeddedSrv.Start()
		if !embeddedSrv.ReadyForConnections(10 * time.Second) {
			embeddedErr = errNotReady
			return
		}
		embeddedURL = embeddedSrv.ClientURL()
	})
	if embeddedErr != nil {
		t.Fatalf("embedded nats-server: %v", embeddedErr)
	}
	return embeddedURL
}

type notReady struct{}

func (notReady) Error() string { return "embedded nats-server not ready in 10s" }

var errNotReady error = notReady{}

// randomPrefix names one test's streams and buckets.
func randomPrefix() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return "T" + strings.ToUpper(hex.EncodeToString(b))
}

// dropPrefix deletes every stream (KV buckets are streams) of a prefix,
// over its own connection so it works after the backend was closed.
func dropPrefix(t testing.TB, natsURL, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, err := natsio.Connect(natsURL)
	if err != nil {
		t.Logf("drop %s: %v", prefix, err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return
	}
	n := newNames(prefix)
	for _, s := range append([]string{n.readyStream()}, prefixed("KV_", n.allBuckets())...) {
		if err := js.DeleteStream(ctx, s); err != nil && err != jetstream.ErrStreamNotFound {
			t.Logf("drop stream %s: %v", s, err)
		}
	}
}

func prefixed(p string, xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = p + x
	}
	return out
}

// newTestBackend opens a migrated backend under a fresh prefix on the test
// server, deleted when the test ends, and the URL that opens the same store.
func newTestBackend(t testing.TB) (*Backend, string) {
	t.Helper()
	su := serverURL(t)
	prefix := randomPrefix()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := New(ctx, Config{URL: su, Prefix: prefix})
	if err != nil {
		backendtest.ServiceUnavailable(t, "NATS", err)
	}
	t.Cleanup(func() {
		_ = b.Close()
		dropPrefix(t, su, prefix)
	})
	return b, backendtest.WithQueryParam(t, su, "prefix", prefix)
}

// bundle is what setup returns to each focused test.
type bundle struct {
	t   *testing.T
	b   *Backend
	url string
	ctx context.Context
	now time.Time
}

func setup(t *testing.T) *bundle {
	t.Helper()
	t.Parallel()
	b, u := newTestBackend(t)
	return &bundle{t: t, b: b, url: u, ctx: t.Context(), now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
}
