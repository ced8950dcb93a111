package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"

	"conveyor/backend"
)

// Sizes of finish_completed_many.sql's VALUES list. Completions are padded
// up to a power of two between the bounds, so at most eight statements are
// ever prepared; bigger batches run in chunks of manyMax rows (4 parameters
// a row stay far below SQLite's 32766). Below manyMin completions the
// per-job statement is as cheap, and a batch that small is not the hot path.
const (
	manyMin = 8
	manyMax = 1024
)

// manySize is the padded row count for n completions (n <= manyMax).
func manySize(n int) int {
	size := manyMin
	for size < n {
		size *= 2
	}
	return size
}

// manyStmt returns finish_completed_many.sql prepared for size rows,
// preparing it on first use. It takes the writer connection, so it must not
// be called while a transaction holds it.
func (b *Backend) manyStmt(ctx context.Context, s *stmts, size int) (*sql.Stmt, error) {
	s.manyMu.Lock()
	defer s.manyMu.Unlock()
	if st := s.many[size]; st != nil {
		return st, nil
	}
	var rows strings.Builder
	for i := range size {
		if i > 0 {
			rows.WriteString(", ")
		}
		rows.WriteString("(?, ?, ?, ?)")
	}
	st, err := b.writer.PrepareContext(ctx, strings.Replace(sqlFinishManyTmpl, "/*ROWS*/", rows.String(), 1))
	if err != nil {
		return nil, err
	}
	if s.many == nil {
		s.many = map[int]*sql.Stmt{}
	}
	s.many[size] = st
	return st, nil
}

// tokenRowid is the rowid the claim put in front of a lease token (see
// claim.sql); ok is false for a token of another form.
func tokenRowid(token string) (rowid int64, ok bool) {
	head, _, found := strings.Cut(token, ".")
	if !found {
		return 0, false
	}
	n, err := strconv.ParseInt(head, 10, 64)
	return n, err == nil
}

// completedOutcome is one completion for finish_completed_many.sql.
type completedOutcome struct {
	rowid int64
	o     *backend.JobOutcome
}

// splitCompleted takes out of outs the completions that can be finished in
// bulk. Applying them before the rest gives the same result as applying the
// batch in order only when no job of the rest is among them, so a batch
// where one is returns no bulk part.
func splitCompleted(outs []*backend.JobOutcome) (bulk []completedOutcome, rest []*backend.JobOutcome) {
	for _, o := range outs {
		if o.Outcome == backend.OutcomeCompleted {
			if rowid, ok := tokenRowid(o.LeaseToken); ok {
				bulk = append(bulk, completedOutcome{rowid: rowid, o: o})
				continue
			}
		}
		rest = append(rest, o)
	}
	if len(bulk) < manyMin {
		return nil, outs
	}
	if len(rest) > 0 {
		others := make(map[string]struct{}, len(rest))
		for _, o := range rest {
			others[o.ID] = struct{}{}
		}
		for _, c := range bulk {
			if _, clash := others[c.o.ID]; clash {
				return nil, outs
			}
		}
	}
	return bulk, rest
}

// finishBulk runs JobFinish with the completions of bulk in as few
// statements as possible and rest one statement each, in one transaction.
// ok is false, with nothing written, when some completion's lease was lost:
// the caller then redoes the batch job by job to learn which.
func (b *Backend) finishBulk(ctx context.Context, s *stmts, p *backend.JobFinishParams, bulk []completedOutcome, rest []*backend.JobOutcome) (res *backend.JobFinishResult, ok bool, err error) {
	// Prepare before the transaction takes the writer's only connection.
	type chunk struct {
		stmt *sql.Stmt
		size int
		jobs []completedOutcome
	}
	var chunks []chunk
	for c := range slices.Chunk(bulk, manyMax) {
		size := manySize(len(c))
		st, err := b.manyStmt(ctx, s, size)
		if err != nil {
			return nil, false, b.fail("job finish: prepare", err)
		}
		chunks = append(chunks, chunk{st, size, c})
	}
	tx, err := b.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, b.fail("job finish", err)
	}
	defer tx.Rollback()
	now := ns(p.Now)
	var args []any
	for _, c := range chunks {
		args = append(args[:0], now)
		for _, j := range c.jobs {
			args = append(args, j.rowid, j.o.ID, j.o.LeaseToken, jsonText(j.o.Result))
		}
		for range c.size - len(c.jobs) {
			args = append(args, nil, nil, nil, nil)
		}
		st := tx.StmtContext(ctx, c.stmt)
		r, err := st.ExecContext(ctx, args...)
		st.Close()
		if err != nil {
			return nil, false, b.fail("job finish", err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return nil, false, b.fail("job finish", err)
		}
		if n != int64(len(c.jobs)) {
			return nil, false, nil // a lease lost (or a job listed twice)
		}
	}
	res = &backend.JobFinishResult{}
	var wake []string
	if len(rest) > 0 {
		if wake, err = b.finishEach(ctx, s, tx, rest, p.Now, res); err != nil {
			return nil, false, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, false, b.fail("job finish: commit", err)
	}
	b.wake(wake...)
	return res, true, nil
}
