package maintenance

import (
	"context"
	"time"

	"conveyor/backend"
)

// DefaultRescueInterval is how often the Rescuer looks for expired leases:
// a dead worker's jobs run again within lease + this (DESIGN.md §3.3).
const DefaultRescueInterval = 5 * time.Second

// RescuerConfig configures a Rescuer.
type RescuerConfig struct {
	Common // Interval default DefaultRescueInterval
	// Backend is the store. Required.
	Backend backend.Jobs
	// OnRescued, when set, is called for each rescued job (metrics).
	OnRescued func(backend.RescuedJob)
}

// Rescuer hands back running jobs whose lease expired (their worker died or
// was cut off): queued when attempts are left, failed otherwise.
type Rescuer struct {
	*service
	cfg RescuerConfig
}

// NewRescuer returns a Rescuer; it does nothing until Start.
func NewRescuer(cfg RescuerConfig) *Rescuer {
	r := &Rescuer{cfg: cfg}
	r.service = newService("rescuer", cfg.Common, DefaultRescueInterval, r.run)
	r.cfg.Common = r.service.c
	return r
}

func (r *Rescuer) run(ctx context.Context) {
	res, err := r.cfg.Backend.JobRescue(ctx, &backend.JobRescueParams{Now: r.cfg.Clock.Now(), Limit: 1000})
	if err != nil {
		if ctx.Err() == nil {
			r.cfg.Logger.Warn("rescue failed", "error", err)
		}
		return
	}
	for _, j := range res.Jobs {
		r.cfg.Logger.Warn("job rescued: its lease expired (worker died or was cut off)",
			"job_id", j.ID, "kind", j.Kind, "queue", j.Queue, "state", j.State)
		if r.cfg.OnRescued != nil {
			r.cfg.OnRescued(j)
		}
	}
}
