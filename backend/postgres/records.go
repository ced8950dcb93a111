package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"conveyor/backend"
)

// RecordPut implements backend.Records.
func (b *Backend) RecordPut(ctx context.Context, p *backend.RecordPutParams) (*backend.Record, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	var row pgx.Row
	switch p.IfVersion {
	case 0:
		row = b.pool.QueryRow(ctx, b.q.recordInsert, p.Namespace, p.Key, string(p.Value), p.Now)
	case backend.AnyVersion:
		row = b.pool.QueryRow(ctx, b.q.recordUpsert, p.Namespace, p.Key, string(p.Value), p.Now)
	default:
		row = b.pool.QueryRow(ctx, b.q.recordUpdate, p.Namespace, p.Key, string(p.Value), p.Now, p.IfVersion)
	}
	rec := &backend.Record{Namespace: p.Namespace, Key: p.Key, Value: append(json.RawMessage(nil), p.Value...)}
	err := row.Scan(&rec.Version, &rec.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: put record %s/%s at version %d: %w", p.Namespace, p.Key, p.IfVersion, backend.ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: put record %s/%s: %w", p.Namespace, p.Key, err)
	}
	rec.UpdatedAt = rec.UpdatedAt.UTC()
	return rec, nil
}

func scanRecord(row pgx.Row) (*backend.Record, error) {
	var r backend.Record
	var value []byte
	if err := row.Scan(&r.Namespace, &r.Key, &value, &r.Version, &r.UpdatedAt); err != nil {
		return nil, err
	}
	r.Value = json.RawMessage(value)
	r.UpdatedAt = r.UpdatedAt.UTC()
	return &r, nil
}

// RecordGet implements backend.Records.
func (b *Backend) RecordGet(ctx context.Context, p *backend.RecordGetParams) (*backend.Record, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	r, err := scanRecord(b.pool.QueryRow(ctx, b.q.recordGet, p.Namespace, p.Key))
	if err != nil {
		return nil, fmt.Errorf("postgres: get record %s/%s: %w", p.Namespace, p.Key, mapErr(err))
	}
	return r, nil
}

// RecordList implements backend.Records.
func (b *Backend) RecordList(ctx context.Context, p *backend.RecordListParams) (*backend.RecordListResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	rows, err := b.pool.Query(ctx, b.q.recordList, p.Namespace)
	if err != nil {
		return nil, fmt.Errorf("postgres: list records %s: %w", p.Namespace, err)
	}
	defer rows.Close()
	res := &backend.RecordListResult{}
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: list records %s: %w", p.Namespace, err)
		}
		res.Records = append(res.Records, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list records %s: %w", p.Namespace, err)
	}
	return res, nil
}

// RecordDelete implements backend.Records.
func (b *Backend) RecordDelete(ctx context.Context, p *backend.RecordDeleteParams) error {
	if err := b.check(); err != nil {
		return err
	}
	tag, err := b.pool.Exec(ctx, b.q.recordDelete, p.Namespace, p.Key, p.IfVersion)
	if err != nil {
		return fmt.Errorf("postgres: delete record %s/%s: %w", p.Namespace, p.Key, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	// Nothing deleted: missing, or present at another version.
	if _, err := b.RecordGet(ctx, &backend.RecordGetParams{Namespace: p.Namespace, Key: p.Key}); err != nil {
		return err
	}
	return fmt.Errorf("postgres: delete record %s/%s at version %d: %w", p.Namespace, p.Key, p.IfVersion, backend.ErrConflict)
}
