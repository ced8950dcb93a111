// Package harness runs the four benchmark workloads of DESIGN.md §9 (insert,
// batch, work, latency) against any job system that implements System, and
// reports one Result per workload.
//
// It imports nothing but the standard library on purpose: conveyor's own
// harness (package bench) and the separate peers module (bench/peers, River
// and asynq) both drive their systems through this one implementation, so
// every system is measured by the same code, with the same clocks, the same
// concurrency and the same definition of "done".
package harness
