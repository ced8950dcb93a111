package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"conveyor/backend"
	"conveyor/backend/sqlite"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// benchBatch is the batch size of every port-level benchmark, the worker's
// default fetch and completer batch.
const benchBatch = 1000

func benchBackend(b *testing.B) *sqlite.Backend {
	b.Helper()
	be, err := sqlite.New(context.Background(), sqlite.Config{Path: filepath.Join(b.TempDir(), "bench.db")})
	require.NoError(b, err)
	b.Cleanup(func() { _ = be.Close() })
	return be
}

// cpuTime is the process's user+system CPU time. The machine is shared, so
// wall-clock jobs/s swing with the load; CPU µs per job does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report adds jobs/s (wall clock) and CPU µs per job (timed part only).
func report(b *testing.B, cpu time.Duration) {
	jobs := float64(b.N * benchBatch)
	b.ReportMetric(jobs/b.Elapsed().Seconds(), "jobs/s")
	b.ReportMetric(float64(cpu.Microseconds())/jobs, "cpu-µs/job")
}

func benchInserts(n int) []*backend.JobInsert {
	now := time.Now()
	out := make([]*backend.JobInsert, n)
	for i := range out {
		out[i] = &backend.JobInsert{
			ID: uuid.Must(uuid.NewV7()).String(), Kind: "bench.noop", Queue: "default",
			Args: json.RawMessage(`{"n":1}`), MaxAttempts: 25, Timeout: time.Minute, RunAt: now,
		}
	}
	return out
}

// BenchmarkEnqueueBatch measures JobEnqueue of 1000-job batches.
func BenchmarkEnqueueBatch(b *testing.B) {
	be := benchBackend(b)
	ctx := context.Background()
	var cpu time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		jobs := benchInserts(benchBatch)
		c0 := cpuTime()
		b.StartTimer()
		_, err := be.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: jobs, Now: time.Now()})
		require.NoError(b, err)
		b.StopTimer()
		cpu += cpuTime() - c0
		b.StartTimer()
	}
	report(b, cpu)
}

// BenchmarkClaimFinish measures one claim of 1000 jobs plus one finish
// (completed) of those 1000: the worker's steady-state cost per job.
func BenchmarkClaimFinish(b *testing.B) {
	be := benchBackend(b)
	ctx := context.Background()
	var cpu, claimCPU, finishCPU time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		_, err := be.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: benchInserts(benchBatch), Now: time.Now()})
		require.NoError(b, err)
		c0 := cpuTime()
		b.StartTimer()
		now := time.Now()
		claimed, err := be.JobClaim(ctx, &backend.JobClaimParams{
			Queue: "default", Limit: benchBatch, Owner: "bench", LeaseDuration: 30 * time.Second, Now: now,
		})
		require.NoError(b, err)
		require.Len(b, claimed.Jobs, benchBatch)
		b.StopTimer()
		c1 := cpuTime()
		claimCPU += c1 - c0
		b.StartTimer()
		outs := make([]*backend.JobOutcome, len(claimed.Jobs))
		for i, j := range claimed.Jobs {
			outs[i] = &backend.JobOutcome{ID: j.ID, LeaseToken: j.LeaseToken, Outcome: backend.OutcomeCompleted}
		}
		res, err := be.JobFinish(ctx, &backend.JobFinishParams{Jobs: outs, Now: now})
		require.NoError(b, err)
		require.Empty(b, res.LeaseLost)
		b.StopTimer()
		c2 := cpuTime()
		cpu += c2 - c0
		finishCPU += c2 - c1
		b.StartTimer()
	}
	report(b, cpu)
	b.ReportMetric(float64(claimCPU.Nanoseconds())/1e3/float64(b.N*benchBatch), "claim-cpu-µs/job")
	b.ReportMetric(float64(finishCPU.Nanoseconds())/1e3/float64(b.N*benchBatch), "finish-cpu-µs/job")
}

// BenchmarkBareSQLite is the storage's own ceiling on this machine, measured
// beside BenchmarkClaimFinish in the same run: a minimal jobs table (integer
// primary key, one partial index), claim 1000 with one UPDATE … WHERE rowid
// IN (SELECT … LIMIT 1000) RETURNING id and complete those 1000 in one
// statement, WAL and synchronous=NORMAL, through database/sql on the same
// driver. What conveyor adds on top (UUID keys, leases, the lease-token
// fence, more indexes, returning whole jobs) is the gap between the two.
func BenchmarkBareSQLite(b *testing.B) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "bare.db")+
		"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)")
	require.NoError(b, err)
	db.SetMaxOpenConns(1)
	b.Cleanup(func() { _ = db.Close() })
	_, err = db.ExecContext(ctx, `
CREATE TABLE jobs (id INTEGER PRIMARY KEY, state INTEGER NOT NULL, queue TEXT NOT NULL,
                   priority INTEGER NOT NULL, run_at INTEGER NOT NULL);
CREATE INDEX jobs_claim ON jobs (queue, priority DESC, run_at) WHERE state = 0;`)
	require.NoError(b, err)
	insert, err := db.PrepareContext(ctx, `INSERT INTO jobs (state, queue, priority, run_at) VALUES (0, 'default', 0, ?)`)
	require.NoError(b, err)
	defer insert.Close()
	claim, err := db.PrepareContext(ctx, `
UPDATE jobs SET state = 1
WHERE rowid IN (SELECT rowid FROM jobs WHERE queue = 'default' AND state = 0
                ORDER BY priority DESC, run_at LIMIT ?)
RETURNING id`)
	require.NoError(b, err)
	defer claim.Close()
	// One statement completes the batch: the claimed ids as a JSON array.
	complete, err := db.PrepareContext(ctx, `UPDATE jobs SET state = 2 WHERE id IN (SELECT value FROM json_each(?)) AND state = 1`)
	require.NoError(b, err)
	defer complete.Close()

	var cpu, claimCPU, finishCPU time.Duration
	ids := make([]int64, 0, benchBatch)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		tx, err := db.BeginTx(ctx, nil)
		require.NoError(b, err)
		ins := tx.StmtContext(ctx, insert)
		now := time.Now().UnixNano()
		for i := range benchBatch {
			_, err := ins.ExecContext(ctx, now+int64(i))
			require.NoError(b, err)
		}
		require.NoError(b, tx.Commit())
		c0 := cpuTime()
		b.StartTimer()
		rows, err := claim.QueryContext(ctx, benchBatch)
		require.NoError(b, err)
		ids = ids[:0]
		for rows.Next() {
			var id int64
			require.NoError(b, rows.Scan(&id))
			ids = append(ids, id)
		}
		require.NoError(b, rows.Err())
		require.NoError(b, rows.Close())
		require.Len(b, ids, benchBatch)
		b.StopTimer()
		c1 := cpuTime()
		claimCPU += c1 - c0
		b.StartTimer()
		list, err := json.Marshal(ids)
		require.NoError(b, err)
		r, err := complete.ExecContext(ctx, string(list))
		require.NoError(b, err)
		n, err := r.RowsAffected()
		require.NoError(b, err)
		require.EqualValues(b, benchBatch, n)
		b.StopTimer()
		c2 := cpuTime()
		cpu += c2 - c0
		finishCPU += c2 - c1
		b.StartTimer()
	}
	report(b, cpu)
	b.ReportMetric(float64(claimCPU.Nanoseconds())/1e3/float64(b.N*benchBatch), "claim-cpu-µs/job")
	b.ReportMetric(float64(finishCPU.Nanoseconds())/1e3/float64(b.N*benchBatch), "finish-cpu-µs/job")
}
