package maintenance

import (
	"context"
	"time"

	"conveyor/backend"
)

// DefaultPromoteInterval is how often the Promoter runs: a due scheduled or
// retrying job waits at most this long to become claimable.
const DefaultPromoteInterval = 200 * time.Millisecond

// PromoterConfig configures a Promoter.
type PromoterConfig struct {
	Common // Interval default DefaultPromoteInterval
	// Backend is the store. Required.
	Backend backend.Jobs
}

// Promoter moves due scheduled and retrying jobs to queued, for backends
// whose claim does not look at them (Capabilities.NeedsPromoter).
type Promoter struct {
	*service
	cfg PromoterConfig
}

// NewPromoter returns a Promoter; it does nothing until Start.
func NewPromoter(cfg PromoterConfig) *Promoter {
	p := &Promoter{cfg: cfg}
	p.service = newService("promoter", cfg.Common, DefaultPromoteInterval, p.run)
	p.cfg.Common = p.service.c
	return p
}

func (p *Promoter) run(ctx context.Context) {
	res, err := p.cfg.Backend.JobPromote(ctx, &backend.JobPromoteParams{Now: p.cfg.Clock.Now()})
	if err != nil {
		if ctx.Err() == nil {
			p.cfg.Logger.Warn("promote failed", "error", err)
		}
		return
	}
	if res.Promoted > 0 {
		p.cfg.Logger.Debug("jobs promoted", "jobs", res.Promoted)
	}
}
