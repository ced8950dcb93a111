package nats

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"conveyor/backend"

	"github.com/nats-io/nats.go/jetstream"
)

// storedRecord is a record's value in the records bucket. The KV revision
// is the compare-and-set handle; Version is the port's own counter (1, 2,
// 3 … per key), since KV revisions are per bucket, not per key.
type storedRecord struct {
	Value     json.RawMessage `json:"value"`
	Version   int64           `json:"version"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// getRecord reads a record (nil if absent) with its KV revision.
func (b *Backend) getRecord(ctx context.Context, ns, key string) (*storedRecord, uint64, error) {
	e, err := b.records.Get(ctx, recordKey(ns, key))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, b.wrap("get record", err)
	}
	r := new(storedRecord)
	if err := json.Unmarshal(e.Value(), r); err != nil {
		return nil, 0, fmt.Errorf("nats: decode record %s/%s: %w", ns, key, err)
	}
	return r, e.Revision(), nil
}

// RecordPut writes a record under compare-and-set on its version.
func (b *Backend) RecordPut(ctx context.Context, p *backend.RecordPutParams) (*backend.Record, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	for {
		cur, rev, err := b.getRecord(ctx, p.Namespace, p.Key)
		if err != nil {
			return nil, err
		}
		var version int64
		if cur != nil {
			version = cur.Version
		}
		if p.IfVersion != backend.AnyVersion && p.IfVersion != version {
			return nil, fmt.Errorf("record %s/%s: want version %d, have %d: %w", p.Namespace, p.Key, p.IfVersion, version, backend.ErrConflict)
		}
		next := storedRecord{Value: p.Value, Version: version + 1, UpdatedAt: p.Now}
		data, err := json.Marshal(next)
		if err != nil {
			return nil, fmt.Errorf("nats: encode record: %w", err)
		}
		if cur == nil {
			_, err = b.records.Create(ctx, recordKey(p.Namespace, p.Key), data)
		} else {
			_, err = b.records.Update(ctx, recordKey(p.Namespace, p.Key), data, rev)
		}
		if err == nil {
			return &backend.Record{Namespace: p.Namespace, Key: p.Key, Value: next.Value, Version: next.Version, UpdatedAt: p.Now}, nil
		}
		if !isConflict(err) {
			return nil, b.wrap("put record", err)
		}
		// Someone wrote meanwhile: re-read and re-check the condition.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// RecordGet returns one record.
func (b *Backend) RecordGet(ctx context.Context, p *backend.RecordGetParams) (*backend.Record, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	r, _, err := b.getRecord(ctx, p.Namespace, p.Key)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("record %s/%s: %w", p.Namespace, p.Key, backend.ErrNotFound)
	}
	return &backend.Record{Namespace: p.Namespace, Key: p.Key, Value: r.Value, Version: r.Version, UpdatedAt: r.UpdatedAt}, nil
}

// RecordList returns a namespace's records ordered by key (a watch of the
// namespace's keys).
func (b *Backend) RecordList(ctx context.Context, p *backend.RecordListParams) (*backend.RecordListResult, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	res := &backend.RecordListResult{Records: []*backend.Record{}}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := b.records.Watch(ctx, recordNSPattern(p.Namespace), jetstream.IgnoreDeletes())
	if err != nil {
		return nil, b.wrap("list records", err)
	}
	defer func() { _ = w.Stop() }()
loop:
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, b.wrap("list records", errors.New("watch ended early"))
			}
			if e == nil {
				break loop
			}
			_, kpart, _ := strings.Cut(e.Key(), ".k")
			key, err := base64.RawURLEncoding.DecodeString(kpart)
			if err != nil {
				return nil, fmt.Errorf("nats: decode record key %q: %w", e.Key(), err)
			}
			var r storedRecord
			if err := json.Unmarshal(e.Value(), &r); err != nil {
				return nil, fmt.Errorf("nats: decode record %q: %w", e.Key(), err)
			}
			res.Records = append(res.Records, &backend.Record{Namespace: p.Namespace, Key: string(key), Value: r.Value, Version: r.Version, UpdatedAt: r.UpdatedAt})
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	slices.SortFunc(res.Records, func(x, y *backend.Record) int { return cmp.Compare(x.Key, y.Key) })
	return res, nil
}

// RecordDelete removes a record under compare-and-set on its version.
func (b *Backend) RecordDelete(ctx context.Context, p *backend.RecordDeleteParams) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	for {
		cur, rev, err := b.getRecord(ctx, p.Namespace, p.Key)
		if err != nil {
			return err
		}
		if cur == nil {
			return fmt.Errorf("record %s/%s: %w", p.Namespace, p.Key, backend.ErrNotFound)
		}
		if p.IfVersion != backend.AnyVersion && p.IfVersion != cur.Version {
			return fmt.Errorf("record %s/%s: want version %d, have %d: %w", p.Namespace, p.Key, p.IfVersion, cur.Version, backend.ErrConflict)
		}
		err = b.records.Delete(ctx, recordKey(p.Namespace, p.Key), jetstream.LastRevision(rev))
		if err == nil {
			return nil
		}
		if !isConflict(err) {
			return b.wrap("delete record", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}
