package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"conveyor/backend"
)

// LeaseExtend extends every lease in one transaction with a prepared, fenced
// UPDATE … RETURNING cancel_requested per lease.
func (b *Backend) LeaseExtend(ctx context.Context, p *backend.LeaseExtendParams) (*backend.LeaseExtendResult, error) {
	s, err := b.ready()
	if err != nil {
		return nil, err
	}
	res := &backend.LeaseExtendResult{}
	if len(p.Leases) == 0 {
		return res, nil
	}
	tx, err := b.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, b.fail("lease extend", err)
	}
	defer tx.Rollback()
	extend := tx.StmtContext(ctx, s.leaseExtend)
	defer extend.Close()
	expires := ns(p.Now.Add(p.Duration))
	for _, l := range p.Leases {
		var cancel int64
		err := extend.QueryRowContext(ctx, l.ID, l.LeaseToken, expires, jsonText(l.Progress)).Scan(&cancel)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			res.Lost = append(res.Lost, l.ID)
		case err != nil:
			return nil, b.fail("lease extend "+l.ID, err)
		case cancel != 0:
			res.CancelRequested = append(res.CancelRequested, l.ID)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, b.fail("lease extend: commit", err)
	}
	return res, nil
}
