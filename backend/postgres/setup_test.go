package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"conveyor/backend"
	"conveyor/backend/backendtest"
)

// randomSchema returns a fresh schema name for one test.
func randomSchema() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "conveyor_test_" + hex.EncodeToString(b)
}

// dropSchema removes a test's schema (with its tables) from the server at pgURL.
func dropSchema(t testing.TB, pgURL, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Logf("drop schema %s: %v", schema, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		t.Logf("drop schema %s: %v", schema, err)
	}
}

// newTestBackend opens a migrated backend in a fresh schema of the shared
// test server and drops the schema when the test ends. It also returns the
// backend URL (with ?schema=) that opens the same store.
func newTestBackend(t testing.TB) (*Backend, string) {
	t.Helper()
	pgURL := backendtest.PostgresURL()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		backendtest.ServiceUnavailable(t, "PostgreSQL", err)
	}
	conn.Close(ctx)
	schema := randomSchema()
	b, err := New(ctx, Config{URL: pgURL, Schema: schema, MaxConns: 8})
	require.NoError(t, err)
	t.Cleanup(func() {
		b.Close()
		dropSchema(t, pgURL, schema)
	})
	return b, backendtest.WithQueryParam(t, pgURL, "schema", schema)
}

// bundle is what setup returns to each test.
type bundle struct {
	b   *Backend
	url string
	ctx context.Context
	now time.Time
}

func setup(t *testing.T) *bundle {
	t.Helper()
	b, u := newTestBackend(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return &bundle{b: b, url: u, ctx: ctx, now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
}

var idSeq atomic.Int64

func init() { idSeq.Store(time.Now().UnixNano()) }

// newID returns a fresh sortable job ID (UUIDv7-shaped text).
func newID(t testing.TB) string {
	t.Helper()
	var b [16]byte
	ms := uint64(idSeq.Add(1))
	for i := 7; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[8:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// insert builds a queued job of queue "default".
func insert(t testing.TB, now time.Time) *backend.JobInsert {
	return &backend.JobInsert{
		ID: newID(t), Kind: "test.kind", Queue: "default", Args: []byte(`{"n": 1}`),
		MaxAttempts: 3, Timeout: time.Minute, RunAt: now,
	}
}

func (x *bundle) enqueue(t testing.TB, jobs ...*backend.JobInsert) *backend.JobEnqueueResult {
	t.Helper()
	res, err := x.b.JobEnqueue(x.ctx, &backend.JobEnqueueParams{Jobs: jobs, Now: x.now})
	require.NoError(t, err)
	require.Len(t, res.Jobs, len(jobs))
	return res
}

func (x *bundle) claim(t testing.TB, limit int) []*backend.Job {
	t.Helper()
	res, err := x.b.JobClaim(x.ctx, &backend.JobClaimParams{Queue: "default", Limit: limit, Owner: "w1", LeaseDuration: 30 * time.Second, Now: x.now})
	require.NoError(t, err)
	return res.Jobs
}

func (x *bundle) get(t testing.TB, id string) *backend.Job {
	t.Helper()
	j, err := x.b.JobGet(x.ctx, &backend.JobGetParams{ID: id})
	require.NoError(t, err)
	return j
}
