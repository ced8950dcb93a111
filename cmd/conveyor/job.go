package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"conveyor"
	"conveyor/backend"
	"conveyor/internal/demo"
	"conveyor/server"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
)

func newJobCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "job",
		Short: "Inspect and steer jobs: list, status, cancel, retry, delete, run",
		Args:  usageArgs(cobra.NoArgs),
	}
	cmd.AddCommand(newJobListCmd(g), newJobStatusCmd(g), newJobActionCmd(g, "cancel"), newJobActionCmd(g, "retry"), newJobActionCmd(g, "delete"), newJobRunCmd(g))
	return cmd
}

// checkID refuses what cannot be a job id before asking anyone.
func checkID(id string) error {
	if _, err := uuid.Parse(id); err != nil {
		return withCode(exitNotFound, fmt.Errorf("no job %q: job ids are UUIDs", oneLine(id, 80)))
	}
	return nil
}

func newJobListCmd(g *globals) *cobra.Command {
	var (
		states                   []string
		queue, kind, tag, cursor string
		limit                    int
	)
	cmd := &cobra.Command{
		Use:   "list [--state S] [--queue Q] [--kind K] [--tag T] [--limit N] [--cursor C]",
		Short: "List jobs, newest first",
		Example: `  conveyor job list --state failed,retrying
  conveyor job list --queue mail --limit 100 --json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			for _, s := range states {
				q.Add("state", s)
			}
			for k, v := range map[string]string{"queue": queue, "kind": kind, "tag": tag, "cursor": cursor} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if limit < 1 || limit > 1000 {
				return usageErrorf("--limit must be from 1 to 1000, got %d", limit)
			}
			q.Set("limit", strconv.Itoa(limit))
			o, err := g.openOps(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer o.Close()
			res, err := o.List(cmd.Context(), q.Encode())
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(g.stdout, res)
			}
			if err := printJobTable(g.stdout, res.Jobs); err != nil {
				return err
			}
			if res.NextCursor != "" {
				fmt.Fprintf(g.stderr, "more jobs: add --cursor %s\n", res.NextCursor)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&states, "state", nil, "only these states (comma-separated or repeated): scheduled, queued, running, retrying, completed, failed, cancelled")
	f.StringVar(&queue, "queue", "", "only this queue")
	f.StringVar(&kind, "kind", "", "only this kind")
	f.StringVar(&tag, "tag", "", "only jobs with this tag")
	f.IntVar(&limit, "limit", 50, "page size (1-1000)")
	f.StringVar(&cursor, "cursor", "", "continue after the page that printed this cursor")
	return cmd
}

func newJobStatusCmd(g *globals) *cobra.Command {
	var (
		wait    bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "status ID [--wait [--timeout D]]",
		Short: "Show a job: state, attempts, times, result, errors, progress",
		Long: `Show one job. --json prints the job as the API returns it.
With --wait, poll until the job reaches a final state (completed, failed, cancelled),
printing each change on stderr; the exit code is then 0 only if it completed.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, pos []string) error {
			id := pos[0]
			if err := checkID(id); err != nil {
				return err
			}
			o, err := g.openOps(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer o.Close()
			ctx := cmd.Context()
			j, err := o.Get(ctx, id)
			if err != nil {
				return err
			}
			if wait {
				deadline := time.Now().Add(timeout)
				last := ""
				for !j.State.Final() {
					if s := fmt.Sprintf("%s attempt %d/%d %s", j.State, j.Attempt, j.MaxAttempts, oneLine(string(j.Progress), 80)); s != last {
						fmt.Fprintf(g.stderr, "%s %s\n", time.Now().Format("15:04:05"), s)
						last = s
					}
					if timeout > 0 && time.Now().After(deadline) {
						return fmt.Errorf("job %s still %s after %s", id, j.State, timeout)
					}
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-time.After(200 * time.Millisecond):
					}
					if j, err = o.Get(ctx, id); err != nil {
						return err
					}
				}
			}
			if g.json {
				err = printJSON(g.stdout, j)
			} else {
				err = printJob(g.stdout, j)
			}
			if err == nil && wait && j.State != conveyor.StateCompleted {
				return fmt.Errorf("job %s ended %s", id, j.State)
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the job is completed, failed or cancelled")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "with --wait, give up after this long (default: never)")
	return cmd
}

// newJobActionCmd builds `job cancel|retry|delete ID`.
func newJobActionCmd(g *globals, action string) *cobra.Command {
	short := map[string]string{
		"cancel": "Cancel a job (a running job is asked to stop and ends cancelled)",
		"retry":  "Queue a failed, cancelled or completed job again (or run a waiting one now)",
		"delete": "Delete a job that is not running",
	}[action]
	return &cobra.Command{
		Use:   action + " ID",
		Short: short,
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, pos []string) error {
			id := pos[0]
			if err := checkID(id); err != nil {
				return err
			}
			o, err := g.openOps(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer o.Close()
			var j *server.JobView
			switch action {
			case "cancel":
				j, err = o.Cancel(cmd.Context(), id)
			case "retry":
				j, err = o.Retry(cmd.Context(), id)
			case "delete":
				err = o.Delete(cmd.Context(), id)
			}
			if err != nil {
				if errors.Is(err, backend.ErrWrongState) {
					return withCode(exitConflict, err)
				}
				return err
			}
			switch {
			case g.json && j != nil:
				return printJSON(g.stdout, j)
			case g.json:
				return printJSON(g.stdout, map[string]any{"id": id, "deleted": true})
			case j == nil:
				fmt.Fprintf(g.stdout, "deleted %s\n", id)
			case j.CancelRequested && j.State == conveyor.StateRunning:
				fmt.Fprintf(g.stdout, "%s: cancel requested; the running attempt is being stopped\n", id)
			default:
				fmt.Fprintf(g.stdout, "%s: %s\n", id, j.State)
			}
			return nil
		},
	}
}

func newJobRunCmd(g *globals) *cobra.Command {
	var args string
	cmd := &cobra.Command{
		Use:   "run KIND [--args JSON]",
		Short: "Run one job now, in this process, and print its result (no backend needed)",
		Long: `Run a job's handler once in this process, without a backend or a queue, and print its
result. This binary knows the demo kinds (` + strings.Join(demo.Kinds, ", ") + `); your own kinds run
the same way from your program with Workers.RunNow.`,
		Example: `  conveyor job run demo.echo --args '{"hello":"world"}'
  conveyor job run demo.report --args '{"steps":3}'`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, pos []string) error {
			if args == "" {
				args = "{}"
			}
			if !json.Valid([]byte(args)) {
				return usageErrorf("--args is not valid JSON: %s", oneLine(args, 80))
			}
			ws := conveyor.NewWorkers()
			if err := demo.Register(ws, demo.Options{}); err != nil {
				return err
			}
			if !ws.Has(pos[0]) {
				return usageErrorf("unknown job kind %q: this binary runs %s", pos[0], strings.Join(ws.Kinds(), ", "))
			}
			start := time.Now()
			res, err := ws.RunNow(cmd.Context(), pos[0], json.RawMessage(args))
			if err != nil {
				return fmt.Errorf("job %s failed after %s: %w", pos[0], time.Since(start).Round(time.Millisecond), err)
			}
			if g.json {
				return printJSON(g.stdout, map[string]any{"kind": pos[0], "result": res, "duration": time.Since(start).String()})
			}
			fmt.Fprintln(g.stdout, string(res))
			return nil
		},
	}
	cmd.Flags().StringVar(&args, "args", "", "job arguments as JSON (default {})")
	return cmd
}
