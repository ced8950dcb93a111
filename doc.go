// Package conveyor is an asynchronous job processing system: enqueue work,
// run it on workers, retry it, schedule it, and see and steer it.
//
// The Client enqueues and inspects jobs; a Worker runs registered handlers;
// both talk to a backend (memory, SQLite, PostgreSQL, Redis or NATS
// JetStream) through the port in package backend, so one program moves
// between backends by changing one URL. See DESIGN.md for the contract.
package conveyor
