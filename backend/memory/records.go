package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"conveyor/backend"
)

// RecordPut writes a record under compare-and-set on its version.
func (b *Backend) RecordPut(ctx context.Context, p *backend.RecordPutParams) (*backend.Record, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	ns := b.records[p.Namespace]
	old := ns[p.Key]
	var version int64
	if old != nil {
		version = old.Version
	}
	if p.IfVersion != backend.AnyVersion && p.IfVersion != version {
		return nil, fmt.Errorf("record %s/%s: want version %d, have %d: %w", p.Namespace, p.Key, p.IfVersion, version, backend.ErrConflict)
	}
	if ns == nil {
		ns = make(map[string]*backend.Record)
		b.records[p.Namespace] = ns
	}
	r := &backend.Record{
		Namespace: p.Namespace,
		Key:       p.Key,
		Value:     cloneRaw(p.Value),
		Version:   version + 1,
		UpdatedAt: p.Now,
	}
	ns[p.Key] = r
	return cloneRecord(r), nil
}

// RecordGet returns one record.
func (b *Backend) RecordGet(ctx context.Context, p *backend.RecordGetParams) (*backend.Record, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	r := b.records[p.Namespace][p.Key]
	if r == nil {
		return nil, fmt.Errorf("record %s/%s: %w", p.Namespace, p.Key, backend.ErrNotFound)
	}
	return cloneRecord(r), nil
}

// RecordList returns a namespace's records ordered by key.
func (b *Backend) RecordList(ctx context.Context, p *backend.RecordListParams) (*backend.RecordListResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	ns := b.records[p.Namespace]
	res := &backend.RecordListResult{Records: make([]*backend.Record, 0, len(ns))}
	for _, r := range ns {
		res.Records = append(res.Records, cloneRecord(r))
	}
	slices.SortFunc(res.Records, func(x, y *backend.Record) int { return cmp.Compare(x.Key, y.Key) })
	return res, nil
}

// RecordDelete removes a record under compare-and-set on its version.
func (b *Backend) RecordDelete(ctx context.Context, p *backend.RecordDeleteParams) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.check(ctx); err != nil {
		return err
	}
	ns := b.records[p.Namespace]
	r := ns[p.Key]
	if r == nil {
		return fmt.Errorf("record %s/%s: %w", p.Namespace, p.Key, backend.ErrNotFound)
	}
	if p.IfVersion != backend.AnyVersion && p.IfVersion != r.Version {
		return fmt.Errorf("record %s/%s: want version %d, have %d: %w", p.Namespace, p.Key, p.IfVersion, r.Version, backend.ErrConflict)
	}
	delete(ns, p.Key)
	if len(ns) == 0 {
		delete(b.records, p.Namespace)
	}
	return nil
}

func cloneRecord(r *backend.Record) *backend.Record {
	c := *r
	c.Value = cloneRaw(r.Value)
	return &c
}
