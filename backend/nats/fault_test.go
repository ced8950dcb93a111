package nats

import (
	"context"
	"encoding/json"

	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"conveyor/backend"
	"conveyor/backend/backendtest"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// Fault tests from shared/RELIABILITY.md, at port level.

const testLease = 30 * time.Second

func newInsert(queue string, mods ...func(*backend.JobInsert)) *backend.JobInsert {
	in := &backend.JobInsert{
		ID: uuid.Must(uuid.NewV7()).String(), Kind: "fault.test", Queue: queue,
		Args: json.RawMessage(`{}`), MaxAttempts: 3, Timeout: time.Minute,
	}
	for _, m := range mods {
		m(in)
	}
	return in
}

func (h *bundle) enqueue(now time.Time, ins ...*backend.JobInsert) []backend.EnqueueOutcome {
	res, err := h.b.JobEnqueue(h.ctx, &backend.JobEnqueueParams{Jobs: ins, Now: now})
	require.NoError(tbOf(h), err)
	return res.Jobs
}

// tbOf exists so helpers can fail the test that owns the bundle.
func tbOf(h *bundle) testing.TB { return h.t }

func (h *bundle) claim(b *Backend, queue string, limit int, now time.Time) []*backend.Job {
	res, err := b.JobClaim(h.ctx, &backend.JobClaimParams{Queue: queue, Limit: limit, Owner: "w", LeaseDuration: testLease, Now: now})
	require.NoError(h.t, err)
	return res.Jobs
}

// Fault 2: a handler blocks past its lease with heartbeats stopped; the job
// is rescued and run elsewhere; the old worker's completion and heartbeat
// are rejected and the job ends in the new worker's outcome only.
func TestFaultStaleWorkerFenced(t *testing.T) {
	h := setup(t)
	other, err := New(h.ctx, Config{URL: serverURLOf(h), Prefix: h.b.cfg.Prefix, DisableMigrate: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close() })
	q := "fault-stale"
	in := newInsert(q)
	h.enqueue(h.now, in)
	old := h.claim(h.b, q, 1, h.now)
	require.Len(t, old, 1)

	later := h.now.Add(testLease + time.Second)
	res, err := other.JobRescue(h.ctx, &backend.JobRescueParams{Now: later})
	require.NoError(t, err)
	require.Len(t, res.Jobs, 1)
	fresh := h.claim(other, q, 1, later)
	require.Len(t, fresh, 1)
	require.Equal(t, 2, fresh[0].Attempt)

	// The stale worker wakes up: its heartbeat and its completion are fenced.
	ext, err := h.b.LeaseExtend(h.ctx, &backend.LeaseExtendParams{Leases: []backend.Lease{{ID: in.ID, LeaseToken: old[0].LeaseToken}}, Duration: testLease, Now: later})
	require.NoError(t, err)
	require.Equal(t, []string{in.ID}, ext.Lost)
	fin, err := h.b.JobFinish(h.ctx, &backend.JobFinishParams{Now: later, Jobs: []*backend.JobOutcome{{ID: in.ID, LeaseToken: old[0].LeaseToken, Outcome: backend.OutcomeFailed, Error: &backend.AttemptError{Message: "stale"}}}})
	require.NoError(t, err)
	require.Equal(t, []string{in.ID}, fin.LeaseLost)

	fin, err = other.JobFinish(h.ctx, &backend.JobFinishParams{Now: later, Jobs: []*backend.JobOutcome{{ID: in.ID, LeaseToken: fresh[0].LeaseToken, Outcome: backend.OutcomeCompleted, Result: json.RawMessage(`"ok"`)}}})
	require.NoError(t, err)
	require.Empty(t, fin.LeaseLost)
	j, err := h.b.JobGet(h.ctx, &backend.JobGetParams{ID: in.ID})
	require.NoError(t, err)
	require.Equal(t, backend.StateCompleted, j.State)
	require.JSONEq(t, `"ok"`, string(j.Result))
	require.Len(t, j.Errors, 1, "only the lease expiry is recorded, not the stale failure")
}

// Fault 7: a producer retries the same enqueue after a timeout, and two
// producers race with one unique key: exactly one job.
func TestFaultUniqueRetriedEnqueue(t *testing.T) {
	h := setup(t)
	q := "fault-unique"
	in := newInsert(q, func(j *backend.JobInsert) { j.UniqueKey = "order:42" })
	// A first attempt whose caller gave up before the answer.
	ctx, cancel := context.WithCancel(h.ctx)
	cancel()
	_, _ = h.b.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{in}, Now: h.now})
	// The retry of the same insert, racing a different producer.
	rival := newInsert(q, func(j *backend.JobInsert) { j.UniqueKey = "order:42" })
	var wg sync.WaitGroup
	outs := make([]backend.EnqueueOutcome, 2)
	for i, x := range []*backend.JobInsert{in, rival} {
		wg.Go(func() {
			res, err := h.b.JobEnqueue(h.ctx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{x}, Now: h.now})
			if err == nil {
				outs[i] = res.Jobs[0]
			}
		})
	}
	wg.Wait()
	require.Equal(t, outs[0].ID, outs[1].ID, "both producers name the same job")
	again := h.enqueue(h.now, in)[0]
	require.True(t, again.Duplicate)
	require.Equal(t, outs[0].ID, again.ID)
	list, err := h.b.JobList(h.ctx, &backend.JobListParams{Queue: q})
	require.NoError(t, err)
	require.Len(t, list.Jobs, 1, "exactly one job stored")
}

// Fault 10: a job delayed longer than the lease runs once, whatever the
// sweepers do meanwhile.
func TestFaultDelayedLongerThanLease(t *testing.T) {
	h := setup(t)
	q := "fault-delayed"
	due := h.now.Add(3 * testLease)
	in := newInsert(q, func(j *backend.JobInsert) { j.RunAt = due })
	require.Equal(t, backend.StateScheduled, h.enqueue(h.now, in)[0].State)
	sweep := func(now time.Time) {
		_, err := h.b.JobRescue(h.ctx, &backend.JobRescueParams{Now: now})
		require.NoError(t, err)
		_, err = h.b.JobPromote(h.ctx, &backend.JobPromoteParams{Now: now})
		require.NoError(t, err)
	}
	for _, d := range []time.Duration{testLease, 2 * testLease, 3*testLease - time.Second} {
		sweep(h.now.Add(d))
		require.Empty(t, h.claim(h.b, q, 10, h.now.Add(d)), "not due at +%s", d)
	}
	sweep(due)
	got := h.claim(h.b, q, 10, due)
	require.Len(t, got, 1)
	sweep(due.Add(testLease / 2)) // lease still live
	require.Empty(t, h.claim(h.b, q, 10, due.Add(testLease/2)))
	fin, err := h.b.JobFinish(h.ctx, &backend.JobFinishParams{Now: due.Add(time.Second), Jobs: []*backend.JobOutcome{{ID: in.ID, LeaseToken: got[0].LeaseToken, Outcome: backend.OutcomeCompleted}}})
	require.NoError(t, err)
	require.Empty(t, fin.LeaseLost)
	sweep(due.Add(time.Hour))
	require.Empty(t, h.claim(h.b, q, 10, due.Add(time.Hour)))
	j, err := h.b.JobGet(h.ctx, &backend.JobGetParams{ID: in.ID})
	require.NoError(t, err)
	require.Equal(t, backend.StateCompleted, j.State)
	require.Equal(t, 1, j.Attempt, "ran once")
}

// privateServer is a nats-server process of our own, on a free loopback
// port with its own store, that a test may stop and start.
type privateServer struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
}

const natsServerBin = "/usr/sbin/nats-server"

func startPrivateServer(t *testing.T) *privateServer {
	t.Helper()
	if _, err := os.Stat(natsServerBin); err != nil {
		backendtest.ServiceUnavailable(t, "nats-server binary", err)
	}
	ps := &privateServer{t: t, port: backendtest.FreePort(t), dir: t.TempDir()}
	ps.start()
	t.Cleanup(ps.stop)
	return ps
}

func (ps *privateServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", ps.port) }

func (ps *privateServer) start() {
	ps.cmd = exec.Command(natsServerBin, "-js", "-sd", filepath.Join(ps.dir, "js"), "-a", "127.0.0.1", "-p", fmt.Sprint(ps.port))
	ps.cmd.Stdout, ps.cmd.Stderr = io.Discard, io.Discard
	require.NoError(ps.t, ps.cmd.Start())
	require.Eventually(ps.t, func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ps.port))
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 20*time.Second, 20*time.Millisecond, "private nats-server listening")
}

// stop ends the server with SIGTERM (a restart: the server flushes its
// store) and waits for it to exit.
func (ps *privateServer) stop() {
	if ps.cmd == nil || ps.cmd.Process == nil {
		return
	}
	_ = ps.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = ps.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = ps.cmd.Process.Kill()
		<-done
	}
	ps.cmd = nil
}

// Fault 4: 1k queued and 50 running, NATS restarted while producers keep
// enqueueing: no acknowledged enqueue is lost, the client reconnects by
// itself, and in-flight jobs can still be finished afterwards.
func TestFaultServerRestart(t *testing.T) {
	t.Parallel()
	ps := startPrivateServer(t)
	ctx := t.Context()
	b, err := New(ctx, Config{URL: ps.url(), Prefix: "FAULT"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	h := &bundle{b: b, ctx: ctx, now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), t: t}
	q := "fault-restart"

	var acked []string
	batch := make([]*backend.JobInsert, 1000)
	for i := range batch {
		batch[i] = newInsert(q)
		acked = append(acked, batch[i].ID)
	}
	h.enqueue(h.now, batch...)
	running := h.claim(b, q, 50, h.now)
	require.Len(t, running, 50)

	// Producers keep enqueueing through the restart.
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				in := newInsert(q)
				cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				_, err := b.JobEnqueue(cctx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{in}, Now: h.now})
				cancel()
				if err == nil {
					mu.Lock()
					acked = append(acked, in.ID)
					mu.Unlock()
				}
			}
		})
	}
	countAcked := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	require.Eventually(t, func() bool { return countAcked() > 1050 }, 20*time.Second, 10*time.Millisecond)
	ps.stop()
	ps.start()
	before := countAcked()
	require.Eventually(t, func() bool { return b.Ping(ctx) == nil }, 30*time.Second, 50*time.Millisecond, "client reconnected")
	require.Eventually(t, func() bool { return countAcked() > before+50 }, 30*time.Second, 10*time.Millisecond, "enqueues succeed again")
	close(stop)
	wg.Wait()

	// Every acknowledged enqueue is stored.
	for _, id := range acked {
		_, err := b.JobGet(ctx, &backend.JobGetParams{ID: id})
		require.NoError(t, err, "acknowledged job %s lost", id)
	}
	// In-flight jobs finish after the restart.
	outs := make([]*backend.JobOutcome, len(running))
	for i, j := range running {
		outs[i] = &backend.JobOutcome{ID: j.ID, LeaseToken: j.LeaseToken, Outcome: backend.OutcomeCompleted}
	}
	fin, err := b.JobFinish(ctx, &backend.JobFinishParams{Now: h.now.Add(time.Second), Jobs: outs})
	require.NoError(t, err)
	require.Empty(t, fin.LeaseLost)
	// And everything else is claimable exactly once. Messages a claim had
	// handed back just before the restart come back after the consumer's
	// AckWait (the server keeps its redelivery queue in memory).
	seen := map[string]bool{}
	want := len(acked) - len(running)
	require.Eventually(t, func() bool {
		for _, j := range h.claim(b, q, 500, h.now.Add(2*time.Second)) {
			require.False(t, seen[j.ID], "job %s claimed twice", j.ID)
			seen[j.ID] = true
		}
		return len(seen) >= want
	}, consumerAckWait+30*time.Second, 50*time.Millisecond, "every acknowledged queued job is claimable")
}

// Fault 6: a worker is cut off from NATS for longer than its lease; the job
// is rescued and re-run elsewhere; when the worker reconnects its late
// completion is rejected.
func TestFaultPartitionedWorker(t *testing.T) {
	h := setup(t)
	su := serverURLOf(h)
	target := su[len("nats://"):]
	px := backendtest.StartCutProxy(t, target)
	cutoff, err := New(h.ctx, Config{URL: "nats://" + px.Addr(), Prefix: h.b.cfg.Prefix, DisableMigrate: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cutoff.Close() })
	q := "fault-partition"
	in := newInsert(q)
	h.enqueue(h.now, in)
	mine := h.claim(cutoff, q, 1, h.now)
	require.Len(t, mine, 1)

	px.SetCut(true)
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(h.ctx, 200*time.Millisecond)
		defer cancel()
		return cutoff.Ping(ctx) != nil
	}, 20*time.Second, 20*time.Millisecond, "worker cut off")

	later := h.now.Add(testLease + time.Second)
	res, err := h.b.JobRescue(h.ctx, &backend.JobRescueParams{Now: later})
	require.NoError(t, err)
	require.Len(t, res.Jobs, 1)
	again := h.claim(h.b, q, 1, later)
	require.Len(t, again, 1)
	fin, err := h.b.JobFinish(h.ctx, &backend.JobFinishParams{Now: later, Jobs: []*backend.JobOutcome{{ID: in.ID, LeaseToken: again[0].LeaseToken, Outcome: backend.OutcomeCompleted, Result: json.RawMessage(`"second"`)}}})
	require.NoError(t, err)
	require.Empty(t, fin.LeaseLost)

	px.SetCut(false)
	require.Eventually(t, func() bool { return cutoff.Ping(h.ctx) == nil }, 30*time.Second, 50*time.Millisecond, "worker reconnected")
	fin, err = cutoff.JobFinish(h.ctx, &backend.JobFinishParams{Now: later, Jobs: []*backend.JobOutcome{{ID: in.ID, LeaseToken: mine[0].LeaseToken, Outcome: backend.OutcomeCompleted, Result: json.RawMessage(`"late"`)}}})
	require.NoError(t, err)
	require.Equal(t, []string{in.ID}, fin.LeaseLost, "late completion fenced")
	j, err := h.b.JobGet(h.ctx, &backend.JobGetParams{ID: in.ID})
	require.NoError(t, err)
	require.JSONEq(t, `"second"`, string(j.Result))
	require.Equal(t, 2, j.Attempt)
}

// serverURLOf returns the server URL a bundle's backend uses.
func serverURLOf(h *bundle) string { return h.b.cfg.URL }
