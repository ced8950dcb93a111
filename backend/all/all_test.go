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
