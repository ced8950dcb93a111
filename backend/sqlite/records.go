package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"conveyor/backend"
)

// RecordPut writes a record with compare-and-set: IfVersion 0 creates it
// (ErrConflict if present), AnyVersion upserts, n overwrites version n
// (ErrConflict otherwise). Each case is a single statement, atomic on its own.
func (b *Backend) RecordPut(ctx context.Context, p *backend.RecordPutParams) (*backend.Record, error) {
	if _, err := b.ready(); err != nil {
		return nil, err
	}
	if p.IfVersion < backend.AnyVersion {
		return nil, fmt.Errorf("sqlite: record put %s/%s: invalid IfVersion %d", p.Namespace, p.Key, p.IfVersion)
	}
	q := sqlRecordPut
	if p.IfVersion > 0 {
		q = sqlRecordUpdate
	}
	var version int64
	err := b.writer.QueryRowContext(ctx, q, p.Namespace, p.Key, string(p.Value), ns(p.Now), p.IfVersion).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: record put %s/%s (if version %d): %w", p.Namespace, p.Key, p.IfVersion, backend.ErrConflict)
	}
	if err != nil {
		return nil, b.fail("record put "+p.Namespace+"/"+p.Key, err)
	}
	return &backend.Record{
		Namespace: p.Namespace,
		Key:       p.Key,
		Value:     append([]byte(nil), p.Value...),
		Version:   version,
		UpdatedAt: fromNS(ns(p.Now)),
	}, nil
}

// RecordGet reads one record from the read pool.
func (b *Backend) RecordGet(ctx context.Context, p *backend.RecordGetParams) (*backend.Record, error) {
	if _, err := b.ready(); err != nil {
		return nil, err
	}
	r := &backend.Record{Namespace: p.Namespace, Key: p.Key}
	var value []byte
	var updated int64
	err := b.reader.QueryRowContext(ctx, sqlRecordGet, p.Namespace, p.Key).Scan(&value, &r.Version, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: record %s/%s: %w", p.Namespace, p.Key, backend.ErrNotFound)
	}
	if err != nil {
		return nil, b.fail("record get "+p.Namespace+"/"+p.Key, err)
	}
	r.Value = value
	r.UpdatedAt = fromNS(updated)
	return r, nil
}

// RecordList reads every record of a namespace, ordered by key.
func (b *Backend) RecordList(ctx context.Context, p *backend.RecordListParams) (*backend.RecordListResult, error) {
	if _, err := b.ready(); err != nil {
		return nil, err
	}
	rows, err := b.reader.QueryContext(ctx, sqlRecordList, p.Namespace)
	if err != nil {
		return nil, b.fail("record list "+p.Namespace, err)
	}
	defer rows.Close()
	res := &backend.RecordListResult{}
	for rows.Next() {
		r := &backend.Record{Namespace: p.Namespace}
		var value []byte
		var updated int64
		if err := rows.Scan(&r.Key, &value, &r.Version, &updated); err != nil {
			return nil, b.fail("record list "+p.Namespace, err)
		}
		r.Value = value
		r.UpdatedAt = fromNS(updated)
		res.Records = append(res.Records, r)
	}
	if err := rows.Err(); err != nil {
		return nil, b.fail("record list "+p.Namespace, err)
	}
	return res, nil
}

// RecordDelete removes a record: ErrNotFound if absent, ErrConflict if
// IfVersion is not AnyVersion and differs from the stored version.
func (b *Backend) RecordDelete(ctx context.Context, p *backend.RecordDeleteParams) error {
	if _, err := b.ready(); err != nil {
		return err
	}
	op := "record delete " + p.Namespace + "/" + p.Key
	tx, err := b.writer.BeginTx(ctx, nil)
	if err != nil {
		return b.fail(op, err)
	}
	defer tx.Rollback()
	r, err := tx.ExecContext(ctx, sqlRecordDelete, p.Namespace, p.Key, p.IfVersion)
	if err != nil {
		return b.fail(op, err)
	}
	if n, err := r.RowsAffected(); err != nil {
		return b.fail(op, err)
	} else if n == 0 {
		var value []byte
		var version, updated int64
		err := tx.QueryRowContext(ctx, sqlRecordGet, p.Namespace, p.Key).Scan(&value, &version, &updated)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite: %s: %w", op, backend.ErrNotFound)
		}
		if err != nil {
			return b.fail(op, err)
		}
		return fmt.Errorf("sqlite: %s (version %d, want %d): %w", op, version, p.IfVersion, backend.ErrConflict)
	}
	if err := tx.Commit(); err != nil {
		return b.fail(op+": commit", err)
	}
	return nil
}
