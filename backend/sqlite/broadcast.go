package sqlite

import (
	"context"
	"database/sql"
	"time"

	"conveyor/backend"
)

var _ backend.Broadcaster = (*Backend)(nil)

// Broadcasts between processes on one file. SQLite has no notification
// channel, so a broadcast is a row of the broadcasts table and every
// listener polls for rows newer than the last it saw, every
// Config.ForeignWakeInterval (50 ms by default; the default also when the
// wake poller is turned off) on the read pool. Rows older
// than broadcastKeep are pruned by the broadcasters now and then, so a
// listener stalled longer than that misses what was pruned (best effort,
// like the other backends' Broadcasters).
//
// Each broadcast is a write on the file's single writer connection: with
// --broadcast-events every job event becomes one, which costs an embedded
// store's job throughput noticeably. One process (conveyor dev) needs none.

// broadcastKeep is how long broadcast rows stay for listeners to read.
const broadcastKeep = time.Minute

// broadcastPruneEvery is how many broadcasts of one Backend go by between
// prunes.
const broadcastPruneEvery = 256

// broadcastPage bounds one listener poll's read.
const broadcastPage = 256

// Broadcast implements backend.Broadcaster: one row in broadcasts.
func (b *Backend) Broadcast(ctx context.Context, msg []byte) error {
	if b.closed.Load() {
		return b.fail("broadcast", backend.ErrClosed)
	}
	if err := backend.CheckBroadcast("sqlite", msg); err != nil {
		return err
	}
	// The wall clock is right here: at only dates rows for pruning.
	now := time.Now()
	if _, err := b.writer.ExecContext(ctx, `INSERT INTO broadcasts (at, msg) VALUES (?, ?)`, now.UnixNano(), msg); err != nil {
		return b.fail("broadcast", err)
	}
	if b.broadcasts.Add(1)%broadcastPruneEvery == 0 {
		// The message is sent: a failed prune must not say otherwise (a
		// caller retrying would send it twice); the next prune catches up.
		_, _ = b.writer.ExecContext(ctx, `DELETE FROM broadcasts WHERE at < ?`, now.Add(-broadcastKeep).UnixNano())
	}
	return nil
}

// Listen implements backend.Broadcaster: the messages broadcast after it
// returns, read by a poller until ctx ends or the backend closes.
func (b *Backend) Listen(ctx context.Context) (<-chan []byte, error) {
	if b.closed.Load() {
		return nil, b.fail("listen", backend.ErrClosed)
	}
	var last int64
	if err := b.reader.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM broadcasts`).Scan(&last); err != nil {
		return nil, b.fail("listen", err)
	}
	out := make(chan []byte, backend.BroadcastBuffer)
	go b.pollBroadcasts(ctx, last, out)
	return out, nil
}

// pollBroadcasts sends out the rows after last, polling until ctx ends or
// the backend closes. A failed read is tried again at the next tick.
func (b *Backend) pollBroadcasts(ctx context.Context, last int64, out chan<- []byte) {
	defer close(out)
	every := b.cfg.ForeignWakeInterval
	if every <= 0 { // the wake poller is off (negative); broadcasts still need polling
		every = DefaultForeignWakeInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.done:
			return
		case <-t.C:
		}
		for {
			n, next, err := b.readBroadcasts(ctx, last, out)
			if err != nil {
				break
			}
			last = next
			if n < broadcastPage {
				break
			}
		}
	}
}

// readBroadcasts sends out one page of rows after last and returns how
// many it read and the last sequence number seen. A listener
// BroadcastBuffer messages behind loses the newest ones.
func (b *Backend) readBroadcasts(ctx context.Context, last int64, out chan<- []byte) (int, int64, error) {
	rows, err := b.reader.QueryContext(ctx, `SELECT seq, msg FROM broadcasts WHERE seq > ? ORDER BY seq LIMIT ?`, last, broadcastPage)
	if err != nil {
		return 0, last, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var msg sql.RawBytes
		if err := rows.Scan(&last, &msg); err != nil {
			return n, last, err
		}
		n++
		select {
		case out <- append([]byte(nil), msg...):
		default:
		}
	}
	return n, last, rows.Err()
}
