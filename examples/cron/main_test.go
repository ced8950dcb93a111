package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRun runs the example end to end: scheduled jobs complete and each
// completion arrives at the receiver as a delivery whose signature verifies.
func TestRun(t *testing.T) {
	var out strings.Builder
	require.NoError(t, run("memory:", 2, &out))
	require.Equal(t, 2, strings.Count(out.String(), "verified: job "), out.String())
}
