// Command benchreport turns benchmark JSON lines into ratios, a plot and
// BENCHMARKS.md. It is driven by bench/compare.sh and bench/report.sh:
//
//	benchreport compare FILE         print medians and median ratios per workload
//	benchreport env > env.json       record the machine, versions and durability settings
//	benchreport report -dir bench/results -md BENCHMARKS.md
//	                                 write DIR/plot.png and the markdown from DIR's files
//
// Input lines are harness.Result objects with a "round" field added by the
// scripts; a line with an "error" field records a run that failed.
package main
