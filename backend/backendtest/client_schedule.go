package backendtest

import (
	"sync"
	"testing"
	"time"

	"conveyor"
	"conveyor/internal/clock"
	"conveyor/schedule"

	"github.com/stretchr/testify/require"
)

// testClientSchedule runs schedulers on the backend: the exactly-once
// promise of package schedule rests on the backend's records (compare-and-
// set) and unique keys, so it is checked on every backend.
func testClientSchedule(t *testing.T, f ClientFactory) {
	t.Run("ReplicasFireEachTimeOnce", func(t *testing.T) {
		e := clientSetup(t, f)
		clk := clock.NewFake(time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC))
		_, err := schedule.NewStore(e.b).Put(e.ctx, schedule.Schedule{Name: "replicas", Cron: "*/10 * * * * *", Kind: "sched.tick", Queue: "sched"}, clk.Now())
		require.NoError(t, err)
		var replicas []*schedule.Scheduler
		for range 4 {
			s, err := schedule.New(e.client, schedule.Config{Clock: clk, Logger: clientLogger()})
			require.NoError(t, err)
			replicas = append(replicas, s)
		}
		const fires = 12
		for range fires {
			clk.Advance(10 * time.Second)
			var wg sync.WaitGroup
			for _, s := range replicas {
				wg.Go(func() { s.FireDue(e.ctx) })
			}
			wg.Wait()
		}
		res, err := e.client.List(e.ctx, &conveyor.ListParams{Kind: "sched.tick", Limit: 100})
		require.NoError(t, err)
		seen := map[string]bool{}
		for _, j := range res.Jobs {
			require.False(t, seen[j.UniqueKey], "fire %s enqueued twice", j.UniqueKey)
			seen[j.UniqueKey] = true
		}
		require.Len(t, res.Jobs, fires, "one job per fire time")
		st, err := schedule.NewStore(e.b).Get(e.ctx, "replicas")
		require.NoError(t, err)
		require.Empty(t, st.State.Pending, "no claim left half done")
	})
}
