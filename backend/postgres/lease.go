package postgres

import (
	"context"
	"fmt"

	"conveyor/backend"
)

// LeaseExtend implements backend.Leases with one statement per batch.
func (b *Backend) LeaseExtend(ctx context.Context, p *backend.LeaseExtendParams) (*backend.LeaseExtendResult, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	res := &backend.LeaseExtendResult{}
	if len(p.Leases) == 0 {
		return res, nil
	}
	n := len(p.Leases)
	ids, tokens, progress := make([]string, n), make([]string, n), make([]string, n)
	for k, l := range p.Leases {
		ids[k], tokens[k], progress[k] = l.ID, l.LeaseToken, string(l.Progress)
	}
	rows, err := b.pool.Query(ctx, b.q.leaseExtend, ids, tokens, progress, p.Now.Add(p.Duration))
	if err != nil {
		return nil, fmt.Errorf("postgres: extend leases: %w", err)
	}
	held := make(map[string]bool, n)
	for rows.Next() {
		var id, token string
		var cancel bool
		if err := rows.Scan(&id, &token, &cancel); err != nil {
			rows.Close()
			return nil, fmt.Errorf("postgres: extend leases: %w", err)
		}
		held[id+"\x00"+token] = true
		if cancel {
			res.CancelRequested = append(res.CancelRequested, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: extend leases: %w", err)
	}
	for _, l := range p.Leases {
		if !held[l.ID+"\x00"+l.LeaseToken] {
			res.Lost = append(res.Lost, l.ID)
		}
	}
	return res, nil
}
