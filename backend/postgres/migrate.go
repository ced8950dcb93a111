package postgres

import (
	"context"
	"embed"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one embedded schema version.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order. File names
// are NNNN_name.sql; NNNN is the version.
func migrations() ([]migration, error) {
	entries, err := migrationFS.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("postgres: migration file %q is not named NNNN_name.sql", e.Name())
		}
		b, err := migrationFS.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// Migrate creates the schema if needed and applies every embedded migration
// not applied yet, each in its own transaction. A transaction-scoped advisory
// lock per schema serializes concurrent migrators (several processes starting
// at once). Idempotent.
func (b *Backend) Migrate(ctx context.Context) error {
	if err := b.check(); err != nil {
		return err
	}
	ms, err := migrations()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if err := b.applyMigration(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

func (b *Backend) applyMigration(ctx context.Context, m migration) error {
	return pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('conveyor.migrate'), hashtext($1))`, b.cfg.Schema); err != nil {
			return fmt.Errorf("postgres: migrate: lock: %w", err)
		}
		setup := `CREATE SCHEMA IF NOT EXISTS ` + b.schema + `;
CREATE TABLE IF NOT EXISTS ` + b.schema + `.schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`
		if _, err := tx.Exec(ctx, setup); err != nil {
			return fmt.Errorf("postgres: migrate: create schema %s: %w", b.schema, err)
		}
		var applied bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+b.schema+`.schema_migrations WHERE version = $1)`, m.version).Scan(&applied); err != nil {
			return fmt.Errorf("postgres: migrate: read version: %w", err)
		}
		if applied {
			return nil
		}
		if _, err := tx.Exec(ctx, expand(m.sql, b.schema)); err != nil {
			return fmt.Errorf("postgres: migrate: apply %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+b.schema+`.schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
			return fmt.Errorf("postgres: migrate: record %s: %w", m.name, err)
		}
		return nil
	})
}
