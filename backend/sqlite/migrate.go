package sqlite

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"conveyor/backend"
)

// migrationFS holds the schema migrations, one numbered file each
// (NNNN_name.sql), applied in order and recorded in schema_version.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations sorted by version.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %q: want NNNN_name.sql", e.Name())
		}
		b, err := migrationFS.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := range out {
		if out[i].version != i+1 {
			return nil, fmt.Errorf("migration %s: versions must be 1, 2, 3… without gaps", out[i].name)
		}
	}
	return out, nil
}

// Migrate applies the migrations the file has not seen yet, all in one
// IMMEDIATE transaction, so concurrent processes migrating the same file
// apply each exactly once. Idempotent. A file migrated by a newer conveyor
// (a version this binary does not know) is refused.
func (b *Backend) Migrate(ctx context.Context) error {
	if b.closed.Load() {
		return fmt.Errorf("sqlite: migrate: %w", backend.ErrClosed)
	}
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	tx, err := b.writer.BeginTx(ctx, nil)
	if err != nil {
		return b.fail("migrate", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    INTEGER NOT NULL PRIMARY KEY,
		applied_at INTEGER NOT NULL -- unix nanoseconds
	)`); err != nil {
		return b.fail("migrate", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&current); err != nil {
		return b.fail("migrate", err)
	}
	if current > len(ms) {
		return fmt.Errorf("sqlite: migrate: %s is at schema version %d, newer than this build knows (%d)", b.cfg.Path, current, len(ms))
	}
	for _, m := range ms[current:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return b.fail("migrate "+m.name, err)
		}
		// The wall clock is right here: applied_at is an audit record,
		// not logic a test controls.
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, applied_at) VALUES (?, ?)`,
			m.version, time.Now().UnixNano()); err != nil {
			return b.fail("migrate "+m.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return b.fail("migrate", err)
	}
	return b.prepare(ctx)
}
