package all_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"conveyor/backend"
	"conveyor/backend/backendtest"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite docs/FEATURES.md from the backends' capabilities")

const featuresPath = "../../docs/FEATURES.md"

const featuresHeader = `# Backend features

Generated from each backend's ` + "`Capabilities()`" + ` by ` + "`go test ./backend/all -run TestFeatureMatrix -update`" + `;
the conformance suite skips exactly what this table says is absent.

`

// TestFeatureMatrix opens every backend, renders the feature matrix from
// their capabilities and checks that docs/FEATURES.md says the same.
func TestFeatureMatrix(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	urls := []string{
		"memory:",
		"sqlite:" + filepath.Join(t.TempDir(), "features.db"),
		// A fixed namespace of their own, reused by every run: opening
		// migrates it, nothing else is written.
		backendtest.WithQueryParam(t, backendtest.PostgresURL(), "schema", "conveyor_features"),
		backendtest.WithQueryParam(t, backendtest.RedisURL(), "prefix", "conveyor_features"),
		backendtest.NATSTestURL(t) + "?prefix=FEATURES",
	}
	var caps []backend.Capabilities
	for _, u := range urls {
		b, err := backend.Open(ctx, u)
		if err != nil {
			backendtest.ServiceUnavailable(t, backend.Redact(u), err)
		}
		caps = append(caps, b.Capabilities())
		require.NoError(t, b.Close())
	}
	want := featuresHeader + backend.FeatureMatrix(caps)
	if *update {
		require.NoError(t, os.WriteFile(featuresPath, []byte(want), 0o644))
	}
	got, err := os.ReadFile(featuresPath)
	require.NoError(t, err)
	require.Equal(t, want, string(got), "docs/FEATURES.md is stale: run go test ./backend/all -run TestFeatureMatrix -update")
}
