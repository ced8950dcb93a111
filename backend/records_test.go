package backend_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"conveyor/backend"
	"conveyor/backend/memory"

	"github.com/stretchr/testify/require"
)

func TestListRecords(t *testing.T) {
	ctx := context.Background()
	b, err := memory.New(ctx, memory.Config{})
	require.NoError(t, err)
	defer b.Close()
	for _, k := range []string{"b", "a"} {
		_, err := b.RecordPut(ctx, &backend.RecordPutParams{Namespace: "ns", Key: k, Value: json.RawMessage(`"` + k + `"`), Now: time.Now()})
		require.NoError(t, err)
	}
	keys, err := backend.ListRecords(ctx, b, "ns", func(r *backend.Record) (string, error) { return r.Key, nil })
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, keys, "ordered by key")

	boom := errors.New("not mine")
	_, err = backend.ListRecords(ctx, b, "ns", func(*backend.Record) (int, error) { return 0, boom })
	require.ErrorIs(t, err, boom)
}
