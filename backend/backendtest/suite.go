package backendtest

import (
	"context"
	"testing"

	"conveyor/backend"
)

// Factory returns a fresh, migrated, isolated backend (its own namespace),
// closed and cleaned up by the factory via t.Cleanup. It is called once per
// test, possibly from parallel tests.
type Factory func(t *testing.T) backend.Backend

// TxBeginner is the test hook a backend with Capabilities.TxEnqueue
// implements on its Backend value, so the suite can open a transaction of a
// type the backend's JobEnqueueTx accepts. commit and rollback end it.
type TxBeginner interface {
	BeginTx(ctx context.Context) (tx any, commit func() error, rollback func() error, err error)
}

// Run runs the port-level conformance suite against the backends newBackend
// makes. Subtests are named "Area/Check", e.g. "Enqueue/UniqueConcurrent".
func Run(t *testing.T, newBackend Factory) {
	t.Helper()
	areas := []struct {
		name string
		run  func(t *testing.T, f Factory)
	}{
		{"Lifecycle", testLifecycle},
		{"Enqueue", testEnqueue},
		{"Claim", testClaim},
		{"Finish", testFinish},
		{"Lease", testLease},
		{"Rescue", testRescue},
		{"Cancel", testCancel},
		{"Retry", testRetry},
		{"Delete", testDelete},
		{"List", testList},
		{"Queue", testQueue},
		{"Prune", testPrune},
		{"Record", testRecord},
		{"Tx", testTx},
		{"Wake", testWake},
		{"Broadcast", testBroadcast},
	}
	for _, a := range areas {
		t.Run(a.name, func(t *testing.T) { a.run(t, newBackend) })
	}
}
