package main

import (
	"fmt"
	"time"

	"conveyor/backend"

	"github.com/spf13/cobra"
)

func newMigrateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or update the backend's schema (idempotent)",
		Long: `Bring the backend's schema up to date: tables and indexes on SQLite and PostgreSQL,
nothing to do on memory, Redis or NATS. Safe to run many times and from several hosts.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.serverURL != "" {
				return usageErrorf("migrate works on a backend (--backend), not through a server")
			}
			url := g.resolveBackend()
			fmt.Fprintf(g.stderr, "migrating %s…\n", backend.Redact(url))
			start := time.Now()
			b, err := openBackend(cmd.Context(), url, false)
			if err != nil {
				return err
			}
			defer b.Close()
			if err := b.Migrate(cmd.Context()); err != nil {
				return fmt.Errorf("migrate %s: %w", backend.Redact(url), err)
			}
			if g.json {
				return printJSON(g.stdout, map[string]any{"backend": backend.Redact(url), "migrated": true})
			}
			fmt.Fprintf(g.stdout, "%s is up to date (%s backend, %s)\n", backend.Redact(url), b.Capabilities().Name, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
}
