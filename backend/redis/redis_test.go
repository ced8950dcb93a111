package redis

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"conveyor/backend"
	"conveyor/backend/backendtest"
)

var prefixSeq atomic.Int64

// testPrefix returns a key prefix no other test (or test run) uses.
func testPrefix(t testing.TB) string {
	return fmt.Sprintf("cvtest%d_%d", time.Now().UnixNano(), prefixSeq.Add(1))
}

// cleanPrefix deletes every key of a prefix (SCAN + DEL).
func cleanPrefix(ctx context.Context, c goredis.UniversalClient, prefix string) error {
	for _, pat := range (keys{prefix: prefix}).scanPatterns() {
		iter := c.Scan(ctx, 0, pat, 1000).Iterator()
		var batch []string
		for iter.Next(ctx) {
			batch = append(batch, iter.Val())
			if len(batch) == 1000 {
				if err := c.Del(ctx, batch...).Err(); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
		if len(batch) > 0 {
			if err := c.Del(ctx, batch...).Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

// openAt opens an isolated backend on the server at rawURL, cleaned when the
// test ends; it returns the backend and its URL (with the prefix).
func openAt(t testing.TB, rawURL string) (*Backend, string) {
	t.Helper()
	u := backendtest.WithQueryParam(t, rawURL, "prefix", testPrefix(t))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := Open(ctx, u)
	if err != nil {
		backendtest.ServiceUnavailable(t, "Redis", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(t, b.Close())
		opts, err := goredis.ParseURL(rawURL)
		require.NoError(t, err)
		c := goredis.NewClient(opts)
		defer c.Close()
		if err := cleanPrefix(ctx, c, b.k.prefix); err != nil {
			t.Errorf("clean prefix %s: %v", b.k.prefix, err)
		}
	})
	return b, u
}

// setup returns an isolated backend on the shared test server.
func setup(t testing.TB) *Backend {
	t.Helper()
	b, _ := openAt(t, backendtest.RedisURL())
	return b
}

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Backend { return setup(t) })
}

func TestClient(t *testing.T) {
	backendtest.RunClient(t, func(t *testing.T) (backend.Backend, string) {
		b, u := openAt(t, backendtest.RedisURL())
		return b, u
	})
}
