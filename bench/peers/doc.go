// Command peers runs River (PostgreSQL) and asynq (Redis) on the benchmark
// workloads of DESIGN.md §9, through the same harness as `conveyor bench`
// (conveyor/bench/harness), and prints one JSON line per workload.
//
// It is a separate Go module so that conveyor itself never depends on River
// or asynq; it reaches the shared harness through "replace conveyor => ../..",
// so when the main module's requirements move, -mod=mod lets the go command
// follow them without a tidy. Usage:
//
//	cd bench/peers && go run -mod=mod . --system river --workload all
//	cd bench/peers && go run -mod=mod . --system asynq --workload work --jobs 50000
//
// Isolation: River runs in a fresh PostgreSQL schema (bench_river_<random>, River's
// own migrations applied with rivermigrate) dropped at the end; asynq runs in
// a dedicated Redis database number (--redis-db, default 15) that is flushed
// before and after each workload, so no other data is touched.
package main
