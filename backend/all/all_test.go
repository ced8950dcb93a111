package all_test

import (
	"testing"

	"conveyor/backend"
	_ "conveyor/backend/all"

	"github.com/stretchr/testify/require"
)

func TestSchemes(t *testing.T) {
	t.Parallel()
	got := backend.Schemes()
	for _, s := range []string{"memory", "sqlite", "postgres", "postgresql", "redis", "rediss", "nats"} {
		require.Contains(t, got, s)
	}
}

// TestOpenBadURLHidesPassword: a URL that does not parse must not leak its
// password through the error, whichever backend it names.
func TestOpenBadURLHidesPassword(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"redis://bob:s3cret@host:notaport/0",
		"nats://bob:s3cret@host:notaport",
		"postgres://bob:s3cret@host:notaport/db",
	} {
		_, err := backend.Open(t.Context(), u)
		require.Error(t, err, u)
		require.NotContains(t, err.Error(), "s3cret", u)
		require.Contains(t, err.Error(), "xxxxx@host:notaport", u)
	}
}
