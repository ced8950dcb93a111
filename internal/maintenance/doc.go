// Package maintenance holds the background services a worker runs besides
// jobs: the Rescuer (hands back jobs whose lease expired, on every backend),
// the Promoter (makes due scheduled and retrying jobs claimable, where
// Capabilities.NeedsPromoter) and the Pruner (deletes old finished jobs,
// where Capabilities.NeedsPruner).
//
// Each is a service (DESIGN.md §11.6): Start(ctx) does not block, Stop is
// idempotent. Time comes from an injected clock and ticks can be injected
// through a channel, so tests drive them without sleeping.
package maintenance
