package nats

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// scanStream yields each key's latest value once: an overwritten value is
// replaced, a deleted key and a refused value are left out.
func TestScanStreamLatestPerKey(t *testing.T) {
	h := setup(t)
	kv := h.b.running
	for _, kv2 := range [][2]string{{"k1", "old"}, {"k2", "skip"}, {"k1", "new"}, {"k3", "gone"}} {
		_, err := kv.PutString(h.ctx, kv2[0], kv2[1])
		require.NoError(t, err)
	}
	require.NoError(t, kv.Delete(h.ctx, "k3"))
	e, err := kv.Get(h.ctx, "k1")
	require.NoError(t, err)

	got := map[string]string{}
	keep := func(v []byte) bool { return !bytes.Equal(v, []byte("skip")) }
	err = h.b.scanStream(h.ctx, h.b.names.runningBucket(), keep, func(key string, rev uint64, v []byte) error {
		got[key] = string(v)
		require.Equal(t, e.Revision(), rev)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"k1": "new"}, got)

	stop := errors.New("stop")
	err = h.b.scanStream(h.ctx, h.b.names.runningBucket(), keep, func(string, uint64, []byte) error { return stop })
	require.ErrorIs(t, err, stop, "fn's error ends the scan")
	require.NoError(t, h.b.scanStream(h.ctx, h.b.names.schedBucket(), keep, func(string, uint64, []byte) error {
		t.Fatal("an empty bucket has no keys")
		return nil
	}))
	require.Error(t, h.b.scanStream(h.ctx, "nosuchbucket", keep, func(string, uint64, []byte) error { return nil }))
}
