package redis

import (
	"context"
	"slices"
	"sync"
	"testing"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"conveyor/backend/backendtest"
)

// writeAfterSchemaRead writes version to the schema key, through another
// connection, right after the first command that touches the key returns:
// another process's Migrate landing between this one's read and write.
type writeAfterSchemaRead struct {
	schemaKey, version string
	other              *goredis.Client
	once               sync.Once
	err                error
}

func (h *writeAfterSchemaRead) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *writeAfterSchemaRead) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}

func (h *writeAfterSchemaRead) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		err := next(ctx, cmd)
		if slices.Contains(cmd.Args(), any(h.schemaKey)) {
			h.once.Do(func() { h.err = h.other.Set(ctx, h.schemaKey, h.version, 0).Err() })
		}
		return err
	}
}

// TestMigrateVersionCheckAndSetAtomic: a version another process writes
// after this Migrate looked at the key is never overwritten by this
// Migrate's write (it checks and sets in one step, so the other write comes
// after it, not between).
func TestMigrateVersionCheckAndSetAtomic(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	opts, err := goredis.ParseURL(backendtest.RedisURL())
	require.NoError(t, err)
	other := goredis.NewClient(opts)
	t.Cleanup(func() { require.NoError(t, other.Close()) })
	hook := &writeAfterSchemaRead{schemaKey: b.k.schema(), version: "99", other: other}
	b.rdb.AddHook(hook)

	require.NoError(t, b.Migrate(ctx))
	require.NoError(t, hook.err)
	v, err := other.Get(ctx, b.k.schema()).Result()
	require.NoError(t, err)
	require.Equal(t, "99", v, "the other process's later write was overwritten")
}
