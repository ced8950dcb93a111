package redis

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"conveyor/backend"
)

// TestClaimFailsAnUnreadableJobAlone: a job whose stored record cannot be
// decoded (here its errors field, damaged by hand) is failed with the
// reason, and the rest of the batch is handed out as usual instead of the
// whole claim failing with every job left running until its lease ends.
func TestClaimFailsAnUnreadableJobAlone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	q := "unreadable"
	bad := insert(q, func(j *backend.JobInsert) { j.Priority = 10; j.MaxAttempts = 3 })
	good := insert(q, func(j *backend.JobInsert) { j.MaxAttempts = 1 })
	enqueue(t, b, t0, bad, good)
	c := claim(t, b, q, 1, t0, time.Minute)
	require.Equal(t, bad.ID, c[0].ID)
	// Snoozed, the job is claimed from its hash next time (no claim body).
	_, err := b.JobFinish(ctx, &backend.JobFinishParams{Now: t0, Jobs: []*backend.JobOutcome{
		{ID: bad.ID, LeaseToken: c[0].LeaseToken, Outcome: backend.OutcomeSnoozed, RunAt: t0}}})
	require.NoError(t, err)
	require.NoError(t, b.rdb.HSet(ctx, b.k.job(q, bad.ID), "e", "[not json").Err())

	res, err := b.JobClaim(ctx, &backend.JobClaimParams{Queue: q, Limit: 10, Owner: "w", LeaseDuration: time.Minute, Now: t0})
	require.NoError(t, err)
	require.Len(t, res.Jobs, 1)
	require.Equal(t, good.ID, res.Jobs[0].ID)
	st, err := b.rdb.HGet(ctx, b.k.job(q, bad.ID), "s").Result()
	require.NoError(t, err)
	require.Equal(t, "failed", st)
	e, err := b.rdb.HGet(ctx, b.k.job(q, bad.ID), "e").Result()
	require.NoError(t, err)
	require.Contains(t, e, "the stored job cannot be read")
	require.Equal(t, int64(1), b.rdb.ZCard(ctx, b.queueKeys(q)[kRunning]).Val(), "only the readable job is running")
}
