// Package bench is the harness behind `conveyor bench` (DESIGN.md §9): it
// runs conveyor's own Client and Worker on any backend, through the shared
// workloads of package conveyor/bench/harness, and reports one Result per
// workload.
//
// Backends are opened with backend.Open, so the caller must import the
// backends it wants (the CLI blank-imports conveyor/backend/all). Each run
// uses a queue of its own, "bench-<random>", purged before and after every
// workload; nothing else in the store is read or changed.
//
// The River and asynq figures that conveyor is compared with come from the
// separate module bench/peers, which uses the same harness.
package bench
