package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// Wake-ups from other processes. SQLite has no notification channel, but
// PRAGMA data_version, read on one connection, changes whenever another
// connection (of any process) committed since the last read, and costs no
// disk read. While this process has watchers, a poller reads it every
// Config.ForeignWakeInterval on a connection of its own and, on a change,
// signals every watcher: a job enqueued by `conveyor server` then starts in
// a `conveyor worker` process on the same file within that interval rather
// than at the worker's fallback poll (a second by default).
//
// The version cannot say which queues changed, nor tell this process's own
// commits from another's, so a change wakes every watcher; an idle queue
// then pays one empty claim per interval while the file is being written,
// which is the price of not knowing.

// startForeignWake starts the poller once, on the first QueueWatch.
func (b *Backend) startForeignWake() {
	if b.cfg.ForeignWakeInterval < 0 {
		return
	}
	b.foreignOnce.Do(func() { go b.foreignWake() })
}

// foreignWake polls data_version until the backend is closed.
func (b *Backend) foreignWake() {
	t := time.NewTicker(b.cfg.ForeignWakeInterval)
	defer t.Stop()
	var db *sql.DB // one connection: data_version is per connection
	defer func() {
		if db != nil {
			db.Close()
		}
	}()
	last := int64(-1)
	for {
		select {
		case <-b.done:
			return
		case <-t.C:
		}
		if !b.hub.hasWatchers() {
			last = -1 // changes while nobody listens need no signal
			continue
		}
		if db == nil {
			var err error
			if db, err = sql.Open("sqlite", dsn(b.cfg, false)); err != nil {
				continue
			}
			db.SetMaxOpenConns(1)
			db.SetConnMaxIdleTime(0)
			db.SetConnMaxLifetime(0)
		}
		ctx, cancel := context.WithTimeout(context.Background(), b.cfg.BusyTimeout+time.Second)
		var v int64
		err := db.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v)
		cancel()
		if err != nil {
			last = -1 // a new connection has a new numbering
			continue
		}
		if last >= 0 && v != last {
			b.hub.notifyAll()
		}
		last = v
	}
}
