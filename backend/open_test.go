package backend_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{name: "NoUser", in: "redis://127.0.0.1:6379/0", want: "redis://127.0.0.1:6379/0"},
		{name: "Password", in: "postgres://alice:s3cret@db:5432/jobs", want: "postgres://alice:xxxxx@db:5432/jobs"},
		{name: "UnparsablePort", in: "redis://bob:s3cret@host:notaport/0", want: "redis://xxxxx@host:notaport/0"},
		{name: "UnparsableNoPath", in: "nats://u:s3cret@host:bad", want: "nats://xxxxx@host:bad"},
		{name: "NotAURL", in: "sqlite:conveyor.db", want: "sqlite:conveyor.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := backend.Redact(tt.in)
			require.Equal(t, tt.want, got)
			require.NotContains(t, got, "s3cret")
		})
	}
}

func TestParseURLHidesTheURL(t *testing.T) {
	t.Parallel()
	_, err := backend.ParseURL("redis://bob:s3cret@host:notaport/0")
	require.ErrorContains(t, err, "invalid URL")
	require.ErrorContains(t, err, "invalid port")
	require.NotContains(t, err.Error(), "s3cret")

	u, err := backend.ParseURL("redis://127.0.0.1:6379/0?prefix=x")
	require.NoError(t, err)
	require.Equal(t, "x", u.Query().Get("prefix"))
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, err := backend.Open(ctx, "no-scheme-here")
	require.ErrorContains(t, err, "missing scheme")
	_, err = backend.Open(ctx, "mysql://u:s3cret@db/x")
	require.ErrorContains(t, err, `unknown scheme "mysql"`)
	require.NotContains(t, err.Error(), "s3cret")
}

func TestCheckExists(t *testing.T) {
	t.Parallel()
	missing := errors.New("no such thing")
	backend.RegisterExists(func(rawURL string) error {
		if strings.HasSuffix(rawURL, "gone") {
			return fmt.Errorf("%s: %w (%w)", rawURL, backend.ErrNoStore, missing)
		}
		return nil
	}, "existstest")
	err := backend.CheckExists("existstest:gone")
	require.ErrorIs(t, err, backend.ErrNoStore)
	require.ErrorIs(t, err, missing)
	require.NoError(t, backend.CheckExists("EXISTSTEST:here"), "schemes match case-insensitively")
	require.NoError(t, backend.CheckExists("unregistered://x"), "a backend without a check (a server) always exists")
}
