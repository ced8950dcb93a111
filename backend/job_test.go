package backend_test

import (
	"testing"
	"time"

	"conveyor/backend"

	"github.com/stretchr/testify/require"
)

func TestJobAppendError(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	j := &backend.Job{Attempt: 3}
	j.AppendError(nil, now)
	require.Empty(t, j.Errors, "nil records nothing")

	given := &backend.AttemptError{Message: "boom"}
	j.AppendError(given, now)
	require.Equal(t, []backend.AttemptError{{Attempt: 3, At: now, Message: "boom"}}, j.Errors)
	require.Zero(t, given.Attempt, "the caller's value is copied, not filled in")

	explicit := backend.AttemptError{Attempt: 1, At: now.Add(-time.Hour), Message: "old"}
	j.AppendError(&explicit, now)
	require.Equal(t, explicit, j.Errors[1], "set fields are kept")
}
