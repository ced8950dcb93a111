package main

import (
	"bytes"
	"image/png"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const sample = `
{"round":1,"system":"conveyor-postgres","workload":"work","jobs":100,"seconds":1,"jobs_per_sec":2000,"p50_ms":0,"p99_ms":0,"durability":"fsynced"}
{"round":1,"system":"river-postgres","workload":"work","jobs":100,"seconds":1,"jobs_per_sec":1000,"p50_ms":0,"p99_ms":0}
{"round":2,"system":"conveyor-postgres","workload":"work","jobs":100,"seconds":1,"jobs_per_sec":3000,"p50_ms":0,"p99_ms":0}
{"round":2,"system":"river-postgres","workload":"work","jobs":100,"seconds":1,"jobs_per_sec":1000,"p50_ms":0,"p99_ms":0}
{"round":3,"system":"conveyor-postgres","workload":"work","jobs":100,"seconds":1,"jobs_per_sec":1000,"p50_ms":0,"p99_ms":0}
{"round":3,"system":"river-postgres","workload":"work","jobs":100,"seconds":1,"jobs_per_sec":1000,"p50_ms":0,"p99_ms":0}
{"round":1,"system":"conveyor-postgres","workload":"latency","jobs":2500,"seconds":5,"jobs_per_sec":500,"p50_ms":2,"p99_ms":10}
{"round":1,"system":"river-postgres","workload":"latency","jobs":2500,"seconds":5,"jobs_per_sec":500,"p50_ms":8,"p99_ms":5}
{"round":1,"system":"asynq-redis","workload":"batch","jobs":100,"seconds":0,"jobs_per_sec":0,"p50_ms":0,"p99_ms":0,"note":"n/a: no batch enqueue"}
{"round":1,"system":"conveyor-redis","workload":"batch","jobs":100,"seconds":1,"jobs_per_sec":100,"p50_ms":1,"p99_ms":1}
{"round":1,"system":"conveyor-nats","error":"exit status 1"}
progress lines and blank lines are ignored
`

func setup(t *testing.T) table {
	t.Helper()
	recs, err := parseRecords(strings.NewReader(sample))
	require.NoError(t, err)
	require.Len(t, recs, 11)
	return group(recs)
}

func TestRatioIsMedianOfPerRoundRatios(t *testing.T) {
	t.Parallel()
	tab := setup(t)
	r, ok := tab.ratio(pairs[0], "work")
	require.True(t, ok)
	require.Equal(t, 3, r.Rounds)
	require.InDelta(t, 2.0, r.Value, 1e-9, "ratios 2, 3, 1 -> median 2")

	r, ok = tab.ratio(pairs[0], "latency")
	require.True(t, ok)
	require.InDelta(t, 4.0, r.Value, 1e-9, "p50: river 8 ms / conveyor 2 ms")
	require.InDelta(t, 0.5, r.P99Value, 1e-9, "p99: river 5 ms / conveyor 10 ms")

	_, ok = tab.ratio(pairs[1], "batch")
	require.False(t, ok, "asynq has no batch: no ratio")
	_, ok = tab.ratio(pairs[0], "insert")
	require.False(t, ok, "nothing measured")
}

func TestSummary(t *testing.T) {
	t.Parallel()
	tab := setup(t)
	s, ok := tab.summary("conveyor-postgres", "work")
	require.True(t, ok)
	require.Equal(t, 3, s.Rounds)
	require.Equal(t, 2000.0, s.JobsPerSec)
	s, _ = tab.summary("asynq-redis", "batch")
	require.Zero(t, s.Rounds)
	require.NotEmpty(t, s.Note)
	require.Equal(t, "fsynced", tab.durability("conveyor-postgres"))
	require.Equal(t, []string{"conveyor-postgres", "river-postgres", "conveyor-redis", "asynq-redis", "conveyor-nats"}, tab.systems())
}

func TestCompareOutput(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	writeCompare(&buf, setup(t))
	out := buf.String()
	require.Contains(t, out, "conveyor-postgres vs river-postgres")
	require.Regexp(t, `work\s+2.00x`, out)
	require.Regexp(t, `latency\s+p50 4.00x\s+p99 0.50x`, out)
	require.Regexp(t, `batch\s+n/a`, out)
}

func TestPlotIsAPNG(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	require.NoError(t, writePlot(&buf, setup(t)))
	img, err := png.Decode(&buf)
	require.NoError(t, err)
	require.Greater(t, img.Bounds().Dx(), 1000)
}

func TestGlyphsAreFiveBySeven(t *testing.T) {
	t.Parallel()
	for r, g := range glyphs {
		for _, row := range g {
			require.Len(t, row, 5, "glyph %q", r)
		}
	}
}

func TestMarkdown(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	writeMarkdown(&buf, setup(t), env{Date: "2026-11-23", Commit: "abc", NProc: 2, CPU: "cpu", Peers: map[string]string{"github.com/riverqueue/river": "v0.51.1"}}, 3, "BenchmarkX 1 ns/op", "Run on a quiet machine.", "bench/results/plot.png")
	md := buf.String()
	require.Contains(t, md, "| postgres | river-postgres | n/a | n/a | 2.00x | 4.00x | 0.50x |")
	require.Contains(t, md, "| conveyor-nats | failed |")
	require.Contains(t, md, "![throughput and latency per system](bench/results/plot.png)")
	require.Contains(t, md, "BenchmarkX 1 ns/op")
	require.Contains(t, md, "## Notes\n\nRun on a quiet machine.")
	require.Contains(t, md, "| github.com/riverqueue/river | v0.51.1 |")
}
