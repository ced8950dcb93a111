package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"conveyor/schedule"
	"conveyor/server"

	"github.com/spf13/cobra"
)

func newScheduleCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "List, add, remove and trigger cron schedules",
		Long: `Schedules are stored in the backend; every running scheduler (conveyor dev, conveyor worker,
conveyor server --scheduler, or a Go program using schedule.New) picks changes up within a second.`,
		Args: usageArgs(cobra.NoArgs),
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List schedules with their next and last run",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var res *server.ScheduleListView
			err := g.withOps(cmd.Context(), true, func(o ops) (err error) {
				res, err = o.Schedules(cmd.Context())
				return err
			})
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(g.stdout, res)
			}
			now := time.Now()
			t := newTable(g.stdout, "NAME", "CRON", "KIND", "QUEUE", "ENABLED", "NEXT RUN", "LAST RUN")
			for _, e := range res.Schedules {
				cron := e.Cron
				if e.Timezone != "" {
					cron += " (" + e.Timezone + ")"
				}
				t.row(e.Name, cron, e.Kind, orDash(e.Queue), strconv.FormatBool(!e.Disabled), fmtTime(e.State.NextRun, now), fmtTime(e.State.LastRun, now))
			}
			return t.flush()
		},
	}
	cmd.AddCommand(list, newScheduleAddCmd(g), newScheduleRemoveCmd(g), newScheduleTriggerCmd(g))
	return cmd
}

func newScheduleAddCmd(g *globals) *cobra.Command {
	var (
		def      schedule.Schedule
		args     string
		timeout  time.Duration
		disabled bool
	)
	cmd := &cobra.Command{
		Use:   "add NAME --cron EXPR --kind KIND [--args JSON] [--queue Q] [--timezone TZ] [--missed skip|run_once|catch_up] [--overlap allow|skip]",
		Short: "Add a schedule, or replace the definition of one (its run history is kept)",
		Example: `  conveyor schedule add nightly-report --cron "0 3 * * *" --timezone Europe/Paris --kind demo.report
  conveyor schedule add heartbeat --cron "@every 30s" --kind demo.echo --args '{"message":"hi"}'`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, pos []string) error {
			def.Name = pos[0]
			def.Args = json.RawMessage(args)
			def.Timeout = timeout
			def.Disabled = disabled
			if err := def.Validate(); err != nil {
				return withCode(exitUsage, err)
			}
			body, err := json.Marshal(def)
			if err != nil {
				return err
			}
			var e *schedule.Entry
			err = g.withOps(cmd.Context(), false, func(o ops) (err error) {
				e, err = o.PutSchedule(cmd.Context(), def.Name, body)
				return err
			})
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(g.stdout, e)
			}
			fmt.Fprintf(g.stdout, "schedule %s stored; next run %s\n", e.Name, fmtTime(e.State.NextRun, time.Now()))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&def.Cron, "cron", "", `cron expression: 5 fields, 6 fields (seconds first) or @every 5m, @hourly, @daily, …`)
	f.StringVar(&def.Kind, "kind", "", "job kind to enqueue at each fire time")
	f.StringVar(&args, "args", "", "job args as JSON (default {})")
	f.StringVar(&def.Queue, "queue", "", "queue of the jobs (default \"default\")")
	f.IntVar(&def.Priority, "priority", 0, "priority of the jobs")
	f.StringVar(&def.Timezone, "timezone", "", "IANA time zone the expression is read in (default UTC)")
	f.DurationVar(&timeout, "timeout", 0, "timeout of each job (default 5m)")
	f.StringVar((*string)(&def.Missed), "missed", "", "fire times missed while no scheduler ran: skip (default), run_once or catch_up")
	f.IntVar(&def.CatchUpLimit, "catch-up-limit", 0, "at most this many missed fires run under catch_up (default 10)")
	f.StringVar((*string)(&def.Overlap), "overlap", "", "allow (default) or skip a fire while the previous run is unfinished")
	f.BoolVar(&disabled, "disabled", false, "store the schedule without firing it")
	return cmd
}

func newScheduleRemoveCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a schedule (the jobs it enqueued stay)",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, pos []string) error {
			err := g.withOps(cmd.Context(), true, func(o ops) error { return o.DeleteSchedule(cmd.Context(), pos[0]) })
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(g.stdout, map[string]any{"name": pos[0], "removed": true})
			}
			fmt.Fprintf(g.stdout, "schedule %s removed\n", pos[0])
			return nil
		},
	}
}

func newScheduleTriggerCmd(g *globals) *cobra.Command {
	var key string
	cmd := &cobra.Command{
		Use:   "trigger NAME",
		Short: "Enqueue one job of a schedule now",
		Long: `Enqueue one job of a schedule now, outside its fire times. With
--idempotency-key, at most one job per key: running the command again with
the same key (say, a retry after a timeout) prints the job the first run
enqueued instead of enqueueing another.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, pos []string) error {
			var res *server.EnqueueView
			err := g.withOps(cmd.Context(), true, func(o ops) (err error) {
				res, err = o.TriggerSchedule(cmd.Context(), pos[0], key)
				return err
			})
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(g.stdout, res)
			}
			if res.Duplicate {
				fmt.Fprintf(g.stdout, "already enqueued with this key: %s (%s)\n", res.ID, res.State)
				return nil
			}
			fmt.Fprintf(g.stdout, "enqueued %s (%s)\n", res.ID, res.State)
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "idempotency-key", "", "enqueue at most one job per key (1-255 printable ASCII, no spaces)")
	return cmd
}
