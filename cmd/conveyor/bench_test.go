package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"conveyor/bench/harness"

	"github.com/stretchr/testify/require"
)

func runBench(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"bench"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestBenchPrintsOneJSONLinePerWorkload(t *testing.T) {
	t.Parallel()
	code, out, errOut := runBench(t, "--backend", "memory:", "--workload", "insert,batch,work", "--jobs", "1500", "--workers", "20")
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3)
	for i, want := range []string{"insert", "batch", "work"} {
		var res harness.Result
		require.NoError(t, json.Unmarshal([]byte(lines[i]), &res), lines[i])
		require.Equal(t, "conveyor-memory", res.System)
		require.Equal(t, want, res.Workload)
		require.Equal(t, 1500, res.Jobs)
		require.Positive(t, res.JobsPerSec)
	}
}

func TestBenchUsageErrors(t *testing.T) {
	t.Setenv(envBackend, "")
	code, _, errOut := runBench(t)
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, "--backend is required")

	code, _, errOut = runBench(t, "--backend", "memory:", "--workload", "everything")
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, `unknown workload "everything"`)

	code, _, _ = runBench(t, "--backend", "memory:", "--jobs", "-1")
	require.Equal(t, exitUsage, code)

	code, _, errOut = runBench(t, "--backend", "nope://x")
	require.Equal(t, exitUnavailable, code)
	require.Contains(t, errOut, "nope")
}

func TestBenchCPUProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	code, _, errOut := runBench(t, "--backend", "memory:", "--workload", "work", "--jobs", "500", "--workers", "10", "--cpuprofile", path)
	require.Equal(t, 0, code, errOut)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	// A pprof profile is a gzip-compressed protobuf.
	require.Greater(t, len(data), 2)
	require.Equal(t, []byte{0x1f, 0x8b}, data[:2])

	code, _, errOut = runBench(t, "--backend", "memory:", "--cpuprofile", filepath.Join(t.TempDir(), "missing", "cpu.pprof"))
	require.Equal(t, exitUsage, code)
	require.Contains(t, errOut, "--cpuprofile")
}
