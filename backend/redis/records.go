package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"conveyor/backend"
)

// Records live in one hash per namespace; each value is
// "VERSION|UPDATED_NS|JSON" so a compare-and-set script reads one field.

func decodeRecord(ns, key, raw string) (*backend.Record, error) {
	v, rest, ok1 := strings.Cut(raw, "|")
	ts, val, ok2 := strings.Cut(rest, "|")
	version, err := strconv.ParseInt(v, 10, 64)
	if !ok1 || !ok2 || err != nil {
		return nil, fmt.Errorf("record %s/%s: malformed stored value", ns, key)
	}
	return &backend.Record{Namespace: ns, Key: key, Value: json.RawMessage(val), Version: version, UpdatedAt: parseNs(ts)}, nil
}

// RecordPut implements backend.Records.
func (b *Backend) RecordPut(ctx context.Context, p *backend.RecordPutParams) (*backend.Record, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	now := now(p.Now)
	v, err := scriptRecordPut.Run(ctx, b.rdb, []string{b.k.records(p.Namespace)},
		p.Key, []byte(p.Value), p.IfVersion, nsStr(now)).Int64()
	if err != nil {
		return nil, fmt.Errorf("put record %s/%s: %w", p.Namespace, p.Key, err)
	}
	if v < 0 {
		return nil, fmt.Errorf("put record %s/%s at version %d: %w", p.Namespace, p.Key, p.IfVersion, backend.ErrConflict)
	}
	return &backend.Record{Namespace: p.Namespace, Key: p.Key, Value: p.Value, Version: v,
		UpdatedAt: parseNs(nsStr(now))}, nil
}

// RecordGet implements backend.Records.
func (b *Backend) RecordGet(ctx context.Context, p *backend.RecordGetParams) (*backend.Record, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	raw, err := b.rdb.HGet(ctx, b.k.records(p.Namespace), p.Key).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("record %s/%s: %w", p.Namespace, p.Key, backend.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get record %s/%s: %w", p.Namespace, p.Key, err)
	}
	return decodeRecord(p.Namespace, p.Key, raw)
}

// RecordList implements backend.Records.
func (b *Backend) RecordList(ctx context.Context, p *backend.RecordListParams) (*backend.RecordListResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	all, err := b.rdb.HGetAll(ctx, b.k.records(p.Namespace)).Result()
	if err != nil {
		return nil, fmt.Errorf("list records %s: %w", p.Namespace, err)
	}
	res := &backend.RecordListResult{Records: make([]*backend.Record, 0, len(all))}
	for k, raw := range all {
		r, err := decodeRecord(p.Namespace, k, raw)
		if err != nil {
			return nil, err
		}
		res.Records = append(res.Records, r)
	}
	sort.Slice(res.Records, func(i, j int) bool { return res.Records[i].Key < res.Records[j].Key })
	return res, nil
}

// RecordDelete implements backend.Records.
func (b *Backend) RecordDelete(ctx context.Context, p *backend.RecordDeleteParams) error {
	if err := b.check(); err != nil {
		return err
	}
	code, err := scriptRecordDelete.Run(ctx, b.rdb, []string{b.k.records(p.Namespace)}, p.Key, p.IfVersion).Int64()
	if err != nil {
		return fmt.Errorf("delete record %s/%s: %w", p.Namespace, p.Key, err)
	}
	switch code {
	case 0:
		return fmt.Errorf("record %s/%s: %w", p.Namespace, p.Key, backend.ErrNotFound)
	case -1:
		return fmt.Errorf("delete record %s/%s at version %d: %w", p.Namespace, p.Key, p.IfVersion, backend.ErrConflict)
	}
	return nil
}
