package backendtest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func testLifecycle(t *testing.T, f Factory) {
	t.Run("Capabilities", func(t *testing.T) {
		h := setup(t, f)
		c := h.b.Capabilities()
		require.NotEmpty(t, c.Name, "Capabilities.Name")
		require.NotEmpty(t, c.Durability, "Capabilities.Durability")
	})
	t.Run("PingMigrateClose", func(t *testing.T) {
		h := setup(t, f)
		require.NoError(t, h.b.Ping(h.ctx))
		require.NoError(t, h.b.Migrate(h.ctx), "Migrate on a migrated store")
		require.NoError(t, h.b.Migrate(h.ctx), "Migrate is idempotent")
		h.addOne("lifecycle")
		require.NoError(t, h.b.Close())
		require.NoError(t, h.b.Close(), "Close is idempotent")
	})
}
