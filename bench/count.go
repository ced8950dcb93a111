package bench

import (
	"context"

	"conveyor/backend"
	"conveyor/bench/harness"
)

// countingBackend passes everything through to a backend and counts, in
// JobFinish, the completed outcomes the backend acknowledged (returned
// without error and not listed in LeaseLost): the work workload measures up
// to the last committed completion, not the last handler return.
type countingBackend struct {
	backend.Backend
	done *harness.Counter
}

// wakingCountingBackend keeps the Waker capability visible through the
// wrapper, since the worker finds it by type assertion.
type wakingCountingBackend struct {
	*countingBackend
	backend.Waker
}

func countCompletions(b backend.Backend, done *harness.Counter) backend.Backend {
	cb := &countingBackend{Backend: b, done: done}
	if wk, ok := b.(backend.Waker); ok {
		return &wakingCountingBackend{countingBackend: cb, Waker: wk}
	}
	return cb
}

// JobFinish implements backend.Jobs and counts acknowledged completions.
func (c *countingBackend) JobFinish(ctx context.Context, p *backend.JobFinishParams) (*backend.JobFinishResult, error) {
	res, err := c.Backend.JobFinish(ctx, p)
	if err != nil {
		return res, err
	}
	var n int64
	for _, o := range p.Jobs {
		if o.Outcome == backend.OutcomeCompleted {
			n++
		}
	}
	if res != nil && len(res.LeaseLost) > 0 {
		lost := make(map[string]bool, len(res.LeaseLost))
		for _, id := range res.LeaseLost {
			lost[id] = true
		}
		for _, o := range p.Jobs {
			if o.Outcome == backend.OutcomeCompleted && lost[o.ID] {
				n--
			}
		}
	}
	c.done.Add(n)
	return res, nil
}
