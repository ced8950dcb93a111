package main

import (
	"context"
	"testing"
	"time"

	"conveyor/backend/backendtest"
	"conveyor/bench/harness"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// These tests need the shared servers; they skip when one is unreachable,
// or fail under CONVEYOR_TEST_REQUIRE_ALL (as in CI).
const (
	testPG    = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	testRedis = "127.0.0.1:6379"
	testDB    = 15
)

func setup(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func runSmall(t *testing.T, ctx context.Context, s harness.System) {
	t.Helper()
	for _, wl := range []string{harness.WorkloadInsert, harness.WorkloadBatch, harness.WorkloadWork} {
		res, err := harness.Run(ctx, s, harness.Config{Workload: wl, Jobs: 300, Workers: 20})
		require.NoError(t, err, wl)
		require.Equal(t, wl, res.Workload)
		require.NotEmpty(t, res.Durability)
		if res.Note == "" {
			require.Positive(t, res.JobsPerSec, wl)
		}
	}
}

func TestRiver(t *testing.T) {
	ctx := setup(t)
	s, err := newRiver(ctx, testPG)
	if err != nil {
		backendtest.ServiceUnavailable(t, "PostgreSQL", err)
	}
	require.Equal(t, "river-postgres", s.Name())
	runSmall(t, ctx, s)
	schema := s.schema
	require.NoError(t, s.Close(ctx))

	pool, err := pgxpool.New(ctx, testPG)
	require.NoError(t, err)
	defer pool.Close()
	var n int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema).Scan(&n))
	require.Zero(t, n, "schema %s dropped", schema)
}

func TestAsynq(t *testing.T) {
	ctx := setup(t)
	s, err := newAsynq(ctx, testRedis, testDB)
	if err != nil {
		backendtest.ServiceUnavailable(t, "Redis", err)
	}
	require.Equal(t, "asynq-redis", s.Name())
	runSmall(t, ctx, s)
	res, err := harness.Run(ctx, s, harness.Config{Workload: harness.WorkloadBatch, Jobs: 10})
	require.NoError(t, err)
	require.Contains(t, res.Note, "n/a")
	require.NoError(t, s.Close(ctx))
	c := redis.NewClient(&redis.Options{Addr: testRedis, DB: testDB})
	defer c.Close()
	n, err := c.DBSize(ctx).Result()
	require.NoError(t, err)
	require.Zero(t, n, "asynq's database left empty")
}

func TestAsynqRefusesDBZero(t *testing.T) {
	_, err := newAsynq(context.Background(), testRedis, 0)
	require.ErrorContains(t, err, "db 0")
}
