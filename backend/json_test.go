package backend

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStorableJSON(t *testing.T) {
	t.Parallel()
	require.True(t, StorableJSON([]byte(`{"a":"café \u0000"}`)), "escapes are fine in json columns")
	require.False(t, StorableJSON([]byte("\"caf\xe9\"")), "invalid UTF-8 that json.Valid accepts")
	require.False(t, StorableJSON([]byte(`{`)))
}

func TestStorableText(t *testing.T) {
	t.Parallel()
	require.Equal(t, "plain message", StorableText("plain message"))
	require.Equal(t, "bad \uFFFD\uFFFD record \uFFFD", StorableText("bad \x00\x00 record \xe9"))
	require.True(t, StorableString(StorableText("x\x00\xff")))
	require.False(t, StorableString("a\x00b"))
	require.False(t, StorableString("caf\xe9"))
}
