package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"conveyor/bench/harness"
)

// record is one line of a results file.
type record struct {
	harness.Result
	Round int    `json:"round"`
	Error string `json:"error,omitempty"`
}

// pair is a conveyor system and the peer it is compared with.
type pair struct {
	Backend, Conveyor, Peer string
}

var pairs = []pair{
	{"postgres", "conveyor-postgres", "river-postgres"},
	{"redis", "conveyor-redis", "asynq-redis"},
}

// systemOrder is the display order; systems not listed follow, sorted.
var systemOrder = []string{
	"conveyor-memory", "conveyor-sqlite", "conveyor-postgres", "river-postgres",
	"conveyor-redis", "asynq-redis", "conveyor-nats",
}

func readRecords(path string) ([]record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseRecords(f)
}

func parseRecords(r io.Reader) ([]record, error) {
	var out []record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || !strings.HasPrefix(line, "{") {
			continue
		}
		var rec record
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, rec)
	}
	return out, sc.Err()
}

// table holds the results by system and workload.
type table map[string]map[string][]record

// group files records by system and workload. An error record without a
// workload (a run that died) counts as a failure of every workload that has
// no record of its own in that round.
func group(recs []record) table {
	t := table{}
	add := func(r record) {
		if t[r.System] == nil {
			t[r.System] = map[string][]record{}
		}
		t[r.System][r.Workload] = append(t[r.System][r.Workload], r)
	}
	var died []record
	for _, r := range recs {
		if r.Workload == "" {
			died = append(died, r)
			continue
		}
		add(r)
	}
	for _, d := range died {
		for _, wl := range harness.Workloads {
			if !slices.ContainsFunc(t[d.System][wl], func(r record) bool { return r.Round == d.Round }) {
				r := d
				r.Workload = wl
				if r.Error == "" {
					r.Error = "no result"
				}
				add(r)
			}
		}
	}
	return t
}

func (t table) systems() []string {
	var out []string
	for _, s := range systemOrder {
		if t[s] != nil {
			out = append(out, s)
		}
	}
	var rest []string
	for s := range t {
		if !slices.Contains(systemOrder, s) {
			rest = append(rest, s)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// summary is the median of the successful rounds of one system/workload.
type summary struct {
	Rounds     int // successful measurements
	Failed     int
	JobsPerSec float64
	P50, P99   float64
	Note       string
	Error      string
}

func (t table) summary(system, workload string) (summary, bool) {
	recs := t[system][workload]
	if len(recs) == 0 {
		return summary{}, false
	}
	var s summary
	var jps, p50, p99 []float64
	for _, r := range recs {
		switch {
		case r.Error != "":
			s.Failed++
			s.Error = r.Error
		case r.Note != "":
			s.Note = r.Note
		default:
			s.Rounds++
			jps = append(jps, r.JobsPerSec)
			p50 = append(p50, r.P50Ms)
			p99 = append(p99, r.P99Ms)
		}
	}
	s.JobsPerSec, s.P50, s.P99 = median(jps), median(p50), median(p99)
	return s, true
}

// durability returns the durability statement a system reported.
func (t table) durability(system string) string {
	for _, recs := range t[system] {
		for _, r := range recs {
			if r.Durability != "" {
				return r.Durability
			}
		}
	}
	return ""
}

// ratio is the median over rounds of conveyor/peer for one workload: for
// throughput workloads jobs/s(conveyor)/jobs/s(peer), for latency
// p(peer)/p(conveyor). Above 1 means conveyor did better.
type ratio struct {
	Rounds   int
	Value    float64 // throughput, or p50 for latency
	P99Value float64 // latency only
}

func (t table) ratio(p pair, workload string) (ratio, bool) {
	conv := byRound(t[p.Conveyor][workload])
	peer := byRound(t[p.Peer][workload])
	var vs, v99 []float64
	for round, c := range conv {
		q, ok := peer[round]
		if !ok {
			continue
		}
		if workload == harness.WorkloadLatency {
			if c.P50Ms <= 0 || c.P99Ms <= 0 {
				continue
			}
			vs = append(vs, q.P50Ms/c.P50Ms)
			v99 = append(v99, q.P99Ms/c.P99Ms)
			continue
		}
		if q.JobsPerSec <= 0 {
			continue
		}
		vs = append(vs, c.JobsPerSec/q.JobsPerSec)
	}
	if len(vs) == 0 {
		return ratio{}, false
	}
	return ratio{Rounds: len(vs), Value: median(vs), P99Value: median(v99)}, true
}

// byRound keeps the usable measurement of each round.
func byRound(recs []record) map[int]record {
	out := map[int]record{}
	for _, r := range recs {
		if r.Error == "" && r.Note == "" {
			out[r.Round] = r
		}
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
