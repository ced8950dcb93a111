package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"conveyor/bench/harness"
)

// writeCompare prints the medians of every system and the median ratios of
// every pair present.
func writeCompare(w io.Writer, t table) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "system\tworkload\trounds\tjobs/s\tp50 ms\tp99 ms\t")
	for _, sys := range t.systems() {
		for _, wl := range harness.Workloads {
			s, ok := t.summary(sys, wl)
			if !ok {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t\n", sys, wl, s.Rounds, cell(s, fmtRate(s.JobsPerSec)), cell(s, fmtMs(s.P50)), cell(s, fmtMs(s.P99)))
		}
	}
	_ = tw.Flush()
	for _, p := range pairs {
		if t[p.Conveyor] == nil || t[p.Peer] == nil {
			continue
		}
		fmt.Fprintf(w, "\n%s vs %s: median of per-round ratios (>1 = conveyor better)\n", p.Conveyor, p.Peer)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, wl := range harness.Workloads {
			r, ok := t.ratio(p, wl)
			switch {
			case !ok:
				fmt.Fprintf(tw, "%s\tn/a\t\n", wl)
			case wl == harness.WorkloadLatency:
				fmt.Fprintf(tw, "%s\tp50 %s  p99 %s\t(%d rounds; peer latency / conveyor latency)\n", wl, fmtRatio(r.Value), fmtRatio(r.P99Value), r.Rounds)
			default:
				fmt.Fprintf(tw, "%s\t%s\t(%d rounds; conveyor jobs/s / peer jobs/s)\n", wl, fmtRatio(r.Value), r.Rounds)
			}
		}
		_ = tw.Flush()
	}
}

// cell shows a value, or why there is none.
func cell(s summary, v string) string {
	switch {
	case s.Rounds > 0:
		return v
	case s.Note != "":
		return "n/a"
	default:
		return "failed"
	}
}

func fmtRate(x float64) string { return fmt.Sprintf("%.0f", x) }

func fmtMs(x float64) string {
	if x == 0 {
		return "-"
	}
	if x < 0.01 {
		return "<0.01"
	}
	if x >= 100 {
		return fmt.Sprintf("%.0f", x)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", x), "0"), ".")
}

func fmtRatio(x float64) string { return fmt.Sprintf("%.2fx", x) }
