package sqlite_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"conveyor/backend"
	"conveyor/backend/backendtest"
	"conveyor/backend/sqlite"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// childEnv names the database file a re-executed test binary enqueues into
// (the SIGKILL durability test); see TestMain.
const childEnv = "CONVEYOR_SQLITE_ENQUEUE_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		enqueueChild(path)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// base is the tests' "now".
var base = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// newBackend opens a fresh backend on a file in the test's temp dir and
// returns it with the file's path; closed when the test ends.
func newBackend(t *testing.T) (*sqlite.Backend, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "conveyor.db")
	b, err := sqlite.New(context.Background(), sqlite.Config{Path: path})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b, path
}

// insert returns a job for queue, due at base.
func insert(queue string) *backend.JobInsert {
	return &backend.JobInsert{
		ID: uuid.Must(uuid.NewV7()).String(), Kind: "test.noop", Queue: queue,
		Args: json.RawMessage(`{"n":1}`), MaxAttempts: 3, Timeout: time.Minute, RunAt: base,
	}
}

func enqueue(t *testing.T, b backend.Backend, jobs ...*backend.JobInsert) []backend.EnqueueOutcome {
	t.Helper()
	res, err := b.JobEnqueue(t.Context(), &backend.JobEnqueueParams{Jobs: jobs, Now: base})
	require.NoError(t, err)
	return res.Jobs
}

func TestConformance(t *testing.T) {
	t.Parallel()
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		b, _ := newBackend(t)
		return b
	})
}

// TestClient runs the client-level suite (worker, retries, timeouts, cancel,
// shutdown, a SIGKILLed worker child process opening the same file by URL).
func TestClient(t *testing.T) {
	t.Parallel()
	backendtest.RunClient(t, func(t *testing.T) (backend.Backend, string) {
		b, path := newBackend(t)
		return b, "sqlite:" + path
	})
}

func TestParseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		url     string
		want    sqlite.Config
		wantErr bool
	}{
		{name: "relative", url: "sqlite:conveyor.db", want: sqlite.Config{Path: "conveyor.db"}},
		{name: "absolute", url: "sqlite:/tmp/x/c.db", want: sqlite.Config{Path: "/tmp/x/c.db"}},
		{name: "triple slash", url: "sqlite:///tmp/x/c.db", want: sqlite.Config{Path: "/tmp/x/c.db"}},
		{name: "empty is default", url: "sqlite:", want: sqlite.Config{}},
		{name: "params", url: "sqlite:c.db?synchronous=full&busy_timeout=2s&read_conns=2&cache_kib=1024&migrate=false",
			want: sqlite.Config{Path: "c.db", Synchronous: "full", BusyTimeout: 2 * time.Second, ReadConns: 2, CacheKiB: 1024, SkipMigrate: true}},
		{name: "foreign wake", url: "sqlite:c.db?foreign_wake=-1s", want: sqlite.Config{Path: "c.db", ForeignWakeInterval: -time.Second}},
		{name: "bad foreign wake", url: "sqlite:c.db?foreign_wake=often", wantErr: true},
		{name: "unknown param", url: "sqlite:c.db?journal=off", wantErr: true},
		{name: "bad duration", url: "sqlite:c.db?busy_timeout=soon", wantErr: true},
		{name: "other scheme", url: "postgres://x", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := sqlite.ParseURL(tt.url)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, c := range []sqlite.Config{
		{Path: ":memory:"}, {Path: "file:x.db"}, {Path: "x.db?mode=ro"}, {Synchronous: "OFF"}, {ReadConns: -1},
	} {
		require.Error(t, c.WithDefaults().Validate(), "%+v", c)
	}
	require.NoError(t, sqlite.Config{}.WithDefaults().Validate())
}

// TestOpenURL opens through the registry, as the CLI and a child process do,
// and sees what another Backend on the same file wrote.
func TestOpenURL(t *testing.T) {
	t.Parallel()
	b, path := newBackend(t)
	id := enqueue(t, b, insert("q"))[0].ID
	other, err := backend.Open(t.Context(), "sqlite:"+path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close() })
	j, err := other.JobGet(t.Context(), &backend.JobGetParams{ID: id})
	require.NoError(t, err)
	require.Equal(t, backend.StateQueued, j.State)
	require.Equal(t, "sqlite", other.Capabilities().Name)
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	b, path := newBackend(t)
	require.NoError(t, b.Migrate(t.Context()))
	var n, version int
	require.NoError(t, b.DB().QueryRowContext(t.Context(), `SELECT count(*), max(version) FROM schema_version`).Scan(&n, &version))
	require.Equal(t, 2, n, "each migration recorded once")
	require.Equal(t, 2, version)
	var mode string
	require.NoError(t, b.DB().QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode))
	require.Equal(t, "wal", mode)

	// A file migrated by a newer build is refused, not mangled.
	_, err := b.DB().ExecContext(t.Context(), `INSERT INTO schema_version (version, applied_at) VALUES (99, 0)`)
	require.NoError(t, err)
	require.ErrorContains(t, b.Migrate(t.Context()), "newer than this build")
	_, err = sqlite.New(t.Context(), sqlite.Config{Path: path})
	require.ErrorContains(t, err, "newer than this build")
}

// TestSkipMigrate: a backend opened without migrating refuses work until
// Migrate, then works.
func TestSkipMigrate(t *testing.T) {
	t.Parallel()
	b, err := sqlite.New(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "c.db"), SkipMigrate: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	_, err = b.JobEnqueue(t.Context(), &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{insert("q")}, Now: base})
	require.ErrorContains(t, err, "not migrated")
	require.NoError(t, b.Migrate(t.Context()))
	enqueue(t, b, insert("q"))
}

func TestClosed(t *testing.T) {
	t.Parallel()
	b, _ := newBackend(t)
	require.NoError(t, b.Close())
	_, err := b.JobGet(t.Context(), &backend.JobGetParams{ID: "x"})
	require.ErrorIs(t, err, backend.ErrClosed)
	_, err = b.JobClaim(t.Context(), &backend.JobClaimParams{Queue: "q", Limit: 1, Now: base})
	require.ErrorIs(t, err, backend.ErrClosed)
	require.ErrorIs(t, b.Ping(t.Context()), backend.ErrClosed)
}

func TestTxEnqueue(t *testing.T) {
	t.Parallel()
	b, _ := newBackend(t)
	ctx := t.Context()
	_, err := b.DB().ExecContext(ctx, `CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT)`)
	require.NoError(t, err)

	// Committed: the application's row and the job exist together.
	tx, err := b.DB().BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, `INSERT INTO orders (note) VALUES ('paid')`)
	require.NoError(t, err)
	committed := insert("tx")
	committed.UniqueKey = "order:1"
	res, err := b.JobEnqueueTx(ctx, tx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{committed}, Now: base})
	require.NoError(t, err)
	require.False(t, res.Jobs[0].Duplicate)
	// The unique key is checked inside the transaction too.
	dup := insert("tx")
	dup.UniqueKey = "order:1"
	res, err = b.JobEnqueueTx(ctx, tx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{dup}, Now: base})
	require.NoError(t, err)
	require.True(t, res.Jobs[0].Duplicate)
	require.Equal(t, committed.ID, res.Jobs[0].ID)
	// Readers do not see uncommitted work, and are not blocked by the writer.
	_, err = b.JobGet(ctx, &backend.JobGetParams{ID: committed.ID})
	require.ErrorIs(t, err, backend.ErrNotFound)
	require.NoError(t, tx.Commit())
	_, err = b.JobGet(ctx, &backend.JobGetParams{ID: committed.ID})
	require.NoError(t, err)

	// Rolled back: neither exists.
	tx, err = b.DB().BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, `INSERT INTO orders (note) VALUES ('abandoned')`)
	require.NoError(t, err)
	rolled := insert("tx")
	_, err = b.JobEnqueueTx(ctx, tx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{rolled}, Now: base})
	require.NoError(t, err)
	require.NoError(t, tx.Rollback())
	_, err = b.JobGet(ctx, &backend.JobGetParams{ID: rolled.ID})
	require.ErrorIs(t, err, backend.ErrNotFound)
	var orders int
	require.NoError(t, b.DB().QueryRowContext(ctx, `SELECT count(*) FROM orders`).Scan(&orders))
	require.Equal(t, 1, orders)

	// Unsupported transactions.
	_, err = b.JobEnqueueTx(ctx, "not a tx", &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{insert("tx")}, Now: base})
	require.ErrorIs(t, err, backend.ErrUnsupportedTx)
	foreign, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "other.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = foreign.Close() })
	ftx, err := foreign.BeginTx(ctx, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ftx.Rollback() })
	_, err = b.JobEnqueueTx(ctx, ftx, &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{insert("tx")}, Now: base})
	require.ErrorIs(t, err, backend.ErrUnsupportedTx)
}

func TestWake(t *testing.T) {
	t.Parallel()
	// The in-process hub alone: the cross-process poller (tested on its
	// own) would add signals for the other Backend's commits whenever it
	// runs, which this test's "no signal" checks cannot tell apart.
	path := filepath.Join(t.TempDir(), "conveyor.db")
	b, err := sqlite.New(t.Context(), sqlite.Config{Path: path, ForeignWakeInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	w, err := b.QueueWatch(ctx, &backend.QueueWatchParams{Queues: []string{"a"}})
	require.NoError(t, err)
	// A second Backend on the same file in this process shares the hub.
	other, err := sqlite.New(t.Context(), sqlite.Config{Path: path})
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close() })

	enqueue(t, b, insert("b")) // not watched
	enqueue(t, other, insert("a"))
	require.Equal(t, "a", <-w.C)
	select {
	case q := <-w.C:
		t.Fatalf("unexpected extra signal for %q", q)
	default:
	}

	// A scheduled job is not claimable yet: no signal.
	later := insert("a")
	later.RunAt = base.Add(time.Hour)
	enqueue(t, b, later)
	select {
	case q := <-w.C:
		t.Fatalf("signal %q for a scheduled job", q)
	default:
	}
	// Promotion makes it claimable: signal.
	_, err = b.JobPromote(t.Context(), &backend.JobPromoteParams{Now: base.Add(time.Hour)})
	require.NoError(t, err)
	require.Equal(t, "a", <-w.C)

	cancel()
	for range w.C { // drains, then ends: the channel is closed
	}

	// Close ends watches too.
	w2, err := other.QueueWatch(t.Context(), &backend.QueueWatchParams{Queues: []string{"a"}})
	require.NoError(t, err)
	require.NoError(t, other.Close())
	for range w2.C {
	}
}

// TestTwoBackendsOneFile: claimers on two Backends (two writer connections,
// as two processes would have) never share a job: BEGIN IMMEDIATE and the
// busy timeout serialize them on the file lock.
func TestTwoBackendsOneFile(t *testing.T) {
	t.Parallel()
	a, path := newBackend(t)
	bb, err := sqlite.New(t.Context(), sqlite.Config{Path: path})
	require.NoError(t, err)
	t.Cleanup(func() { _ = bb.Close() })
	const n = 600
	jobs := make([]*backend.JobInsert, n)
	for i := range jobs {
		jobs[i] = insert("shared")
	}
	enqueue(t, a, jobs...)
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for i := range 6 {
		be := []*sqlite.Backend{a, bb}[i%2]
		wg.Go(func() {
			for {
				res, err := be.JobClaim(t.Context(), &backend.JobClaimParams{
					Queue: "shared", Limit: 7, Owner: fmt.Sprint("w", i), LeaseDuration: time.Minute, Now: base,
				})
				if !assertNoError(t, err) || len(res.Jobs) == 0 {
					return
				}
				mu.Lock()
				for _, j := range res.Jobs {
					seen[j.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, seen, n)
	for id, c := range seen {
		require.Equal(t, 1, c, "job %s claimed %d times", id, c)
	}
}

// assertNoError reports err from a goroutine (require must not be used there).
func assertNoError(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Errorf("unexpected error: %v", err)
		return false
	}
	return true
}

func TestRecordCAS(t *testing.T) {
	t.Parallel()
	b, _ := newBackend(t)
	ctx := t.Context()
	put := func(v string, ifVersion int64) (*backend.Record, error) {
		return b.RecordPut(ctx, &backend.RecordPutParams{Namespace: "s", Key: "k", Value: json.RawMessage(v), IfVersion: ifVersion, Now: base})
	}
	r, err := put(`{"v":1}`, 0)
	require.NoError(t, err)
	require.Equal(t, int64(1), r.Version)
	_, err = put(`{"v":2}`, 0)
	require.ErrorIs(t, err, backend.ErrConflict, "create-if-absent on an existing record")
	_, err = put(`{"v":2}`, 7)
	require.ErrorIs(t, err, backend.ErrConflict)
	r, err = put(`{"v":2}`, 1)
	require.NoError(t, err)
	require.Equal(t, int64(2), r.Version)
	r, err = put(`{"v":3}`, backend.AnyVersion)
	require.NoError(t, err)
	require.Equal(t, int64(3), r.Version)
	got, err := b.RecordGet(ctx, &backend.RecordGetParams{Namespace: "s", Key: "k"})
	require.NoError(t, err)
	require.JSONEq(t, `{"v":3}`, string(got.Value))
	require.True(t, base.Equal(got.UpdatedAt))
	err = b.RecordDelete(ctx, &backend.RecordDeleteParams{Namespace: "s", Key: "k", IfVersion: 2})
	require.ErrorIs(t, err, backend.ErrConflict)
	require.NoError(t, b.RecordDelete(ctx, &backend.RecordDeleteParams{Namespace: "s", Key: "k", IfVersion: 3}))
	err = b.RecordDelete(ctx, &backend.RecordDeleteParams{Namespace: "s", Key: "k", IfVersion: backend.AnyVersion})
	require.ErrorIs(t, err, backend.ErrNotFound)
	_, err = put(`{}`, 1)
	require.ErrorIs(t, err, backend.ErrConflict, "overwrite of a missing record")
}

// TestKillDurability is fault test 5 of RELIABILITY.md: a child process
// enqueues jobs and prints each acknowledged ID; it is SIGKILLed mid-way;
// every ID it printed is in the file when it is reopened.
func TestKillDurability(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "kill.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var acked []string
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		acked = append(acked, sc.Text())
		// Kill once enough work was acknowledged, while the child is still
		// enqueueing (it never stops by itself).
		if len(acked) == 2000 && !killed {
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			killed = true
		}
	}
	err = cmd.Wait()
	require.Error(t, err, "the child must have been killed")
	require.True(t, killed)
	require.GreaterOrEqual(t, len(acked), 2000)

	b, err := sqlite.New(t.Context(), sqlite.Config{Path: path})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	for _, id := range acked {
		_, err := b.JobGet(t.Context(), &backend.JobGetParams{ID: id})
		require.NoError(t, err, "acknowledged job %s lost", id)
	}
	t.Logf("%d acknowledged jobs all present after SIGKILL", len(acked))
}

// enqueueChild enqueues forever into path — alternating single jobs and
// batches of 50, as producers do — printing each ID once JobEnqueue returned.
func enqueueChild(path string) {
	b, err := sqlite.New(context.Background(), sqlite.Config{Path: path})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	w := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		n := 1
		if i%2 == 1 {
			n = 50
		}
		jobs := make([]*backend.JobInsert, n)
		for k := range jobs {
			jobs[k] = insert("kill")
		}
		res, err := b.JobEnqueue(context.Background(), &backend.JobEnqueueParams{Jobs: jobs, Now: time.Now()})
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		for _, o := range res.Jobs {
			fmt.Fprintln(w, o.ID)
		}
		w.Flush() // acknowledged: written out only after the commit returned
	}
}

func TestExists(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "jobs.db")
	err := backend.CheckExists("sqlite:" + path)
	require.ErrorIs(t, err, backend.ErrNoStore)
	require.ErrorContains(t, err, path)
	_, statErr := os.Stat(path)
	require.ErrorIs(t, statErr, os.ErrNotExist, "checking must not create the file")

	b, err := backend.Open(context.Background(), "sqlite:"+path)
	require.NoError(t, err)
	require.NoError(t, b.Close())
	require.NoError(t, backend.CheckExists("sqlite:"+path))

	require.ErrorContains(t, sqlite.Exists("sqlite:"+path+"?nope=1"), "unknown parameter")
}

// foreignPair opens the same file twice the way two processes would: the
// second path goes through a symlinked directory, so the two backends do not
// share the in-process wake-up hub (keyed by path) and only the data_version
// poller can carry a signal from one to the other.
func foreignPair(t *testing.T, interval time.Duration) (watcher, writer backend.Backend) {
	t.Helper()
	dir := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(dir, link))
	ctx := context.Background()
	a, err := sqlite.New(ctx, sqlite.Config{Path: filepath.Join(dir, "jobs.db"), ForeignWakeInterval: interval})
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	b, err := sqlite.New(ctx, sqlite.Config{Path: filepath.Join(link, "jobs.db")})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	return a, b
}

func enqueueOne(t *testing.T, b backend.Backend, queue string) {
	t.Helper()
	now := time.Now()
	_, err := b.JobEnqueue(context.Background(), &backend.JobEnqueueParams{Now: now, Jobs: []*backend.JobInsert{{
		ID: uuid.Must(uuid.NewV7()).String(), Kind: "k", Queue: queue, Args: json.RawMessage(`{}`),
		MaxAttempts: 1, Timeout: time.Minute, RunAt: now,
	}}})
	require.NoError(t, err)
}

func TestForeignWake(t *testing.T) {
	t.Parallel()
	a, b := foreignPair(t, 10*time.Millisecond)
	w, err := a.(backend.Waker).QueueWatch(t.Context(), &backend.QueueWatchParams{Queues: []string{"mail"}})
	require.NoError(t, err)
	// The other "process" keeps enqueueing: the poller may read its first
	// version after the first write, which then looks like no change.
	every := time.NewTicker(20 * time.Millisecond)
	defer every.Stop()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case q := <-w.C:
			require.Equal(t, "mail", q)
			return
		case <-every.C:
			enqueueOne(t, b, "mail")
		case <-deadline:
			t.Fatal("jobs enqueued by another process did not wake the watcher")
		}
	}
}

func TestForeignWakeOff(t *testing.T) {
	t.Parallel()
	a, b := foreignPair(t, -1)
	w, err := a.(backend.Waker).QueueWatch(t.Context(), &backend.QueueWatchParams{Queues: []string{"mail"}})
	require.NoError(t, err)
	enqueueOne(t, b, "mail")
	enqueueOne(t, a, "mail") // this process's own enqueue still wakes at once
	require.Equal(t, "mail", <-w.C)
	select {
	case q := <-w.C:
		t.Fatalf("a second signal (%s) arrived with the poller off", q)
	case <-time.After(300 * time.Millisecond):
	}
}
