package backend_test

import (
	"testing"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

func TestJobListPageSize(t *testing.T) {
	t.Parallel()
	for limit, want := range map[int]int{-5: 100, 0: 100, 1: 1, 250: 250, 1000: 1000, 5000: 1000} {
		require.Equal(t, want, (&backend.JobListParams{Limit: limit}).PageSize(), "limit %d", limit)
	}
}
