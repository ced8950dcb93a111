package main

import (
	"encoding/json"
	"testing"

	"conveyor"
	"conveyor/server"

	"github.com/stretchr/testify/require"
)

// scheduleFlow runs add / list / trigger / remove with the given extra
// arguments (--backend URL or --server URL) and checks each answer.
func scheduleFlow(t *testing.T, where ...string) {
	t.Helper()
	c := func(args ...string) result { return cli(t, append(args, where...)...) }

	out := c("schedule", "add", "nightly", "--cron", "0 3 * * *", "--timezone", "Europe/Paris", "--kind", "demo.echo",
		"--args", `{"n":1}`, "--queue", "reports", "--timeout", "90s", "--overlap", "skip").ok(t)
	require.Contains(t, out, "schedule nightly stored; next run ")

	var list server.ScheduleListView
	require.NoError(t, json.Unmarshal([]byte(c("schedule", "list", "--json").ok(t)), &list))
	require.Len(t, list.Schedules, 1)
	e := list.Schedules[0]
	require.Equal(t, "0 3 * * *", e.Cron)
	require.Equal(t, "reports", e.Queue)
	require.JSONEq(t, `{"n":1}`, string(e.Args))
	require.False(t, e.State.NextRun.IsZero())
	table := c("schedule", "list").ok(t)
	require.Contains(t, table, "nightly")
	require.Contains(t, table, "0 3 * * * (Europe/Paris)")

	// add again replaces the definition, keeping the history.
	c("schedule", "add", "nightly", "--cron", "0 4 * * *", "--kind", "demo.echo", "--disabled").ok(t)
	require.NoError(t, json.Unmarshal([]byte(c("schedule", "list", "--json").ok(t)), &list))
	require.True(t, list.Schedules[0].Disabled)
	require.Equal(t, e.State.Since, list.Schedules[0].State.Since)

	var enq server.EnqueueView
	require.NoError(t, json.Unmarshal([]byte(c("schedule", "trigger", "nightly", "--json").ok(t)), &enq))
	require.Equal(t, conveyor.StateQueued, enq.State)
	require.Contains(t, c("job", "status", enq.ID).ok(t), "demo.echo")

	// With a key, a second trigger answers the first one's job.
	var keyed, again server.EnqueueView
	require.NoError(t, json.Unmarshal([]byte(c("schedule", "trigger", "nightly", "--idempotency-key", "k-1", "--json").ok(t)), &keyed))
	require.False(t, keyed.Duplicate)
	require.NotEqual(t, enq.ID, keyed.ID)
	require.NoError(t, json.Unmarshal([]byte(c("schedule", "trigger", "nightly", "--idempotency-key", "k-1", "--json").ok(t)), &again))
	require.True(t, again.Duplicate)
	require.Equal(t, keyed.ID, again.ID)
	require.Contains(t, c("schedule", "trigger", "nightly", "--idempotency-key", "k-1").ok(t), "already enqueued with this key: "+keyed.ID)
	c("schedule", "trigger", "nightly", "--idempotency-key", "with space").failed(t, exitUsage, "idempotency key")

	require.Contains(t, c("schedule", "remove", "nightly").ok(t), "removed")
	c("schedule", "remove", "nightly").failed(t, exitNotFound, "nightly")
	c("schedule", "trigger", "nightly").failed(t, exitNotFound, "nightly")
}

func TestScheduleCommandsDirect(t *testing.T) {
	scheduleFlow(t, "--backend", setup(t))
}

func TestScheduleCommandsThroughServer(t *testing.T) {
	hs := testServer(t)
	t.Setenv(envToken, "adm")
	scheduleFlow(t, "--server", hs.URL)

	cli(t, "schedule", "add", "x", "--cron", "@daily", "--kind", "email.send", "--server", hs.URL).failed(t, exitUsage, "unknown_kind")
	t.Setenv(envToken, "rd")
	cli(t, "schedule", "list", "--server", hs.URL).ok(t)
	cli(t, "schedule", "add", "x", "--cron", "@daily", "--kind", "demo.echo", "--server", hs.URL).failed(t, exitUnauthorized)
}

func TestScheduleAddRefusesBadInput(t *testing.T) {
	db := setup(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--cron", "61 * * * *", "--kind", "demo.echo"}, `cron "61 * * * *"`},
		{[]string{"--kind", "demo.echo"}, "cron is required"},
		{[]string{"--cron", "@daily"}, "kind"},
		{[]string{"--cron", "@daily", "--kind", "demo.echo", "--args", "{"}, "args are not valid JSON"},
		{[]string{"--cron", "@daily", "--kind", "demo.echo", "--missed", "never"}, "missed must be"},
		{[]string{"--cron", "@daily", "--kind", "demo.echo", "--timezone", "Nowhere/City"}, `timezone "Nowhere/City"`},
	} {
		cli(t, append([]string{"schedule", "add", "s", "--backend", db}, c.args...)...).failed(t, exitUsage, c.want)
	}
	cli(t, "schedule", "add", "bad name", "--cron", "@daily", "--kind", "demo.echo", "--backend", db).failed(t, exitUsage, "may hold only")
	require.Contains(t, cli(t, "schedule", "list", "--backend", db).ok(t), "NAME", "nothing stored, just the header")
	require.NotContains(t, cli(t, "schedule", "list", "--backend", db).ok(t), "demo.echo")
}
