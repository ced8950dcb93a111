package postgres

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"conveyor/backend/backendtest"
)

// privatePG is a PostgreSQL server started by one test (initdb + pg_ctl on a
// free loopback port in a temp dir), so the test may stop and restart it.
type privatePG struct {
	t       testing.TB
	bin     string
	dir     string
	port    int
	asUser  string // run the binaries as this user (initdb refuses root)
	logFile string
}

// startPrivatePG initializes and starts a private server; it is stopped and
// its directory removed when the test ends.
func startPrivatePG(t testing.TB) *privatePG {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(bins) == 0 {
		backendtest.ServiceUnavailable(t, "PostgreSQL", fmt.Errorf("no pg_ctl under /usr/lib/postgresql/*/bin"))
	}
	p := &privatePG{t: t, bin: filepath.Dir(bins[len(bins)-1])}
	dir, err := os.MkdirTemp("", "conveyor-pg-*")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	p.dir = dir
	p.logFile = filepath.Join(dir, "server.log")
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		require.NoError(t, err, "running as root: a postgres user is needed to run initdb")
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		require.NoError(t, os.Chown(dir, uid, gid))
		p.asUser = "postgres"
	}
	p.port = backendtest.FreePort(t)
	p.run("initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	p.start()
	t.Cleanup(func() { p.cmd("pg_ctl", "-D", filepath.Join(p.dir, "data"), "-m", "immediate", "-w", "stop").Run() })
	return p
}

func (p *privatePG) cmd(name string, args ...string) *exec.Cmd {
	path := filepath.Join(p.bin, name)
	if p.asUser != "" {
		return exec.Command("runuser", append([]string{"-u", p.asUser, "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (p *privatePG) run(name string, args ...string) {
	p.t.Helper()
	out, err := p.cmd(name, args...).CombinedOutput()
	require.NoError(p.t, err, "%s: %s", name, out)
}

// start starts the server and waits until it accepts connections (-w).
func (p *privatePG) start() {
	p.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=50", p.port, p.dir)
	p.run("pg_ctl", "-D", filepath.Join(p.dir, "data"), "-o", opts, "-l", p.logFile, "-w", "start")
}

// crash stops the server like a power cut (immediate mode: no checkpoint;
// restart replays the WAL).
func (p *privatePG) crash() {
	p.t.Helper()
	p.run("pg_ctl", "-D", filepath.Join(p.dir, "data"), "-m", "immediate", "-w", "stop")
}

// url is the server's connection URL.
func (p *privatePG) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}
