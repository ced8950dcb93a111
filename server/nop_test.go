package server

import (
	"context"

	"conveyor/backend"
)

// nopBackend accepts every enqueue without storing anything, so the fuzz
// target can run the client's validation at full speed. Every other method
// reports that nothing is there.
type nopBackend struct{}

var _ backend.Backend = nopBackend{}

func (nopBackend) JobEnqueue(_ context.Context, p *backend.JobEnqueueParams) (*backend.JobEnqueueResult, error) {
	out := &backend.JobEnqueueResult{Jobs: make([]backend.EnqueueOutcome, len(p.Jobs))}
	for i, j := range p.Jobs {
		out.Jobs[i] = backend.EnqueueOutcome{ID: j.ID, State: backend.StateQueued}
	}
	return out, nil
}
func (nopBackend) JobClaim(context.Context, *backend.JobClaimParams) (*backend.JobClaimResult, error) {
	return &backend.JobClaimResult{}, nil
}
func (nopBackend) JobFinish(context.Context, *backend.JobFinishParams) (*backend.JobFinishResult, error) {
	return &backend.JobFinishResult{}, nil
}
func (nopBackend) JobRescue(context.Context, *backend.JobRescueParams) (*backend.JobRescueResult, error) {
	return &backend.JobRescueResult{}, nil
}
func (nopBackend) JobPromote(context.Context, *backend.JobPromoteParams) (*backend.JobPromoteResult, error) {
	return &backend.JobPromoteResult{}, nil
}
func (nopBackend) JobGet(context.Context, *backend.JobGetParams) (*backend.Job, error) {
	return nil, backend.ErrNotFound
}
func (nopBackend) JobList(context.Context, *backend.JobListParams) (*backend.JobListResult, error) {
	return &backend.JobListResult{}, nil
}
func (nopBackend) JobCancel(context.Context, *backend.JobCancelParams) (*backend.Job, error) {
	return nil, backend.ErrNotFound
}
func (nopBackend) JobRetry(context.Context, *backend.JobRetryParams) (*backend.Job, error) {
	return nil, backend.ErrNotFound
}
func (nopBackend) JobDelete(context.Context, *backend.JobDeleteParams) error {
	return backend.ErrNotFound
}
func (nopBackend) JobPrune(context.Context, *backend.JobPruneParams) (*backend.JobPruneResult, error) {
	return &backend.JobPruneResult{}, nil
}
func (nopBackend) LeaseExtend(context.Context, *backend.LeaseExtendParams) (*backend.LeaseExtendResult, error) {
	return &backend.LeaseExtendResult{}, nil
}
func (nopBackend) QueueList(context.Context, *backend.QueueListParams) (*backend.QueueListResult, error) {
	return &backend.QueueListResult{}, nil
}
func (nopBackend) QueuePause(context.Context, *backend.QueuePauseParams) error   { return nil }
func (nopBackend) QueueResume(context.Context, *backend.QueueResumeParams) error { return nil }
func (nopBackend) QueuePurge(context.Context, *backend.QueuePurgeParams) (*backend.QueuePurgeResult, error) {
	return &backend.QueuePurgeResult{}, nil
}
func (nopBackend) RecordPut(context.Context, *backend.RecordPutParams) (*backend.Record, error) {
	return nil, backend.ErrConflict
}
func (nopBackend) RecordGet(context.Context, *backend.RecordGetParams) (*backend.Record, error) {
	return nil, backend.ErrNotFound
}
func (nopBackend) RecordList(context.Context, *backend.RecordListParams) (*backend.RecordListResult, error) {
	return &backend.RecordListResult{}, nil
}
func (nopBackend) RecordDelete(context.Context, *backend.RecordDeleteParams) error {
	return backend.ErrNotFound
}
func (nopBackend) Capabilities() backend.Capabilities { return backend.Capabilities{Name: "nop"} }
func (nopBackend) Ping(context.Context) error         { return nil }
func (nopBackend) Migrate(context.Context) error      { return nil }
func (nopBackend) Close() error                       { return nil }
