package maintenance

import (
	"context"
	"time"

	"conveyor/backend"
)

// DefaultPruneInterval is how often the Pruner runs.
const DefaultPruneInterval = time.Minute

// Default retention of finished jobs (DESIGN.md §3.11).
const (
	DefaultRetainCompleted = 24 * time.Hour
	DefaultRetainFailed    = 7 * 24 * time.Hour
	DefaultRetainCancelled = 7 * 24 * time.Hour
)

// pruneBatch is the Limit of one JobPrune call; a run calls again while
// batches come back full, up to maxBatches per state so one run stays short.
const (
	pruneBatch = 1000
	maxBatches = 100
)

// Retention says how long finished jobs are kept per final state. Zero
// means the default; a negative value keeps them for ever.
type Retention struct {
	Completed time.Duration // default 24h
	Failed    time.Duration // default 7 days
	Cancelled time.Duration // default 7 days
}

func (r Retention) withDefaults() Retention {
	if r.Completed == 0 {
		r.Completed = DefaultRetainCompleted
	}
	if r.Failed == 0 {
		r.Failed = DefaultRetainFailed
	}
	if r.Cancelled == 0 {
		r.Cancelled = DefaultRetainCancelled
	}
	return r
}

// PrunerConfig configures a Pruner.
type PrunerConfig struct {
	Common // Interval default DefaultPruneInterval
	// Backend is the store. Required.
	Backend backend.Jobs
	// Retention per final state.
	Retention Retention
}

// Pruner deletes finished jobs older than their retention, for backends
// without TTLs (Capabilities.NeedsPruner).
type Pruner struct {
	*service
	cfg PrunerConfig
}

// NewPruner returns a Pruner; it does nothing until Start.
func NewPruner(cfg PrunerConfig) *Pruner {
	p := &Pruner{cfg: cfg}
	p.cfg.Retention = cfg.Retention.withDefaults()
	p.service = newService("pruner", cfg.Common, DefaultPruneInterval, p.run)
	// Its first run waits an interval: retention is counted in hours, while
	// a run scans the store (O(jobs) on NATS KV), which right at a worker's
	// start slowed its first claims 2-3x.
	p.service.waitFirst = true
	p.cfg.Common = p.service.c
	return p
}

func (p *Pruner) run(ctx context.Context) {
	now := p.cfg.Clock.Now()
	for _, st := range []struct {
		state  backend.JobState
		retain time.Duration
	}{
		{backend.StateCompleted, p.cfg.Retention.Completed},
		{backend.StateFailed, p.cfg.Retention.Failed},
		{backend.StateCancelled, p.cfg.Retention.Cancelled},
	} {
		if st.retain < 0 {
			continue
		}
		total := 0
		for range maxBatches {
			res, err := p.cfg.Backend.JobPrune(ctx, &backend.JobPruneParams{State: st.state, FinishedBefore: now.Add(-st.retain), Limit: pruneBatch})
			if err != nil {
				if ctx.Err() == nil {
					p.cfg.Logger.Warn("prune failed", "state", st.state, "error", err)
				}
				return
			}
			total += res.Deleted
			if res.Deleted < pruneBatch {
				break
			}
		}
		if total > 0 {
			p.cfg.Logger.Info("finished jobs pruned", "state", st.state, "jobs", total, "older_than", st.retain)
		}
	}
}
