package main

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
)

func newEnqueueCmd(g *globals) *cobra.Command {
	var (
		args, queue, delay, runAt, uniqueKey, timeout, meta string
		priority, maxAttempts                               int
		tags                                                []string
	)
	cmd := &cobra.Command{
		Use:   "enqueue KIND [--args JSON] [--queue Q] [--priority N] [--delay D] [--unique-key K] [--max-attempts N] [--timeout D]",
		Short: "Enqueue one job and print its id",
		Long: `Enqueue one job of KIND and print its id (with --json: {"id","duplicate","state"}).
Durations (--delay, --timeout) are Go durations ("90s", "1m30s") or seconds ("90").
With --unique-key, enqueueing while a job with that key waits or runs returns that
job's id instead (duplicate: true).`,
		Example: `  conveyor enqueue demo.echo --args '{"hello":"world"}'
  conveyor enqueue demo.fail --args '{"times":2}' --max-attempts 5
  conveyor enqueue demo.sleep --args '{"ms":2000}' --delay 30s --queue slow`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, pos []string) error {
			body := map[string]any{"kind": pos[0]}
			if args != "" {
				if !json.Valid([]byte(args)) {
					return usageErrorf("--args is not valid JSON: %s", oneLine(args, 80))
				}
				body["args"] = json.RawMessage(args)
			}
			if meta != "" {
				if !json.Valid([]byte(meta)) {
					return usageErrorf("--meta is not valid JSON: %s", oneLine(meta, 80))
				}
				body["meta"] = json.RawMessage(meta)
			}
			f := cmd.Flags()
			if queue != "" {
				body["queue"] = queue
			}
			if f.Changed("priority") {
				body["priority"] = priority
			}
			if f.Changed("max-attempts") {
				if maxAttempts < 1 {
					return usageErrorf("--max-attempts must be at least 1, got %d", maxAttempts)
				}
				body["max_attempts"] = maxAttempts
			}
			if delay != "" {
				body["delay"] = durationValue(delay)
			}
			if timeout != "" {
				body["timeout"] = durationValue(timeout)
			}
			if runAt != "" {
				body["run_at"] = runAt
			}
			if uniqueKey != "" {
				body["unique_key"] = uniqueKey
			}
			if len(tags) > 0 {
				body["tags"] = tags
			}
			data, err := json.Marshal(body)
			if err != nil {
				return err
			}
			o, err := g.openOps(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer o.Close()
			res, err := o.Enqueue(cmd.Context(), data)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(g.stdout, res)
			}
			fmt.Fprintln(g.stdout, res.ID)
			if res.Duplicate {
				fmt.Fprintf(g.stderr, "conveyor: not enqueued: job %s (%s) already holds unique key %q\n", res.ID, res.State, uniqueKey)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&args, "args", "", "job arguments as JSON (default {})")
	f.StringVar(&queue, "queue", "", "queue (default \"default\")")
	f.IntVar(&priority, "priority", 0, "priority; higher runs first")
	f.StringVar(&delay, "delay", "", "run after this delay (Go duration or seconds)")
	f.StringVar(&runAt, "run-at", "", "run at this RFC 3339 time (instead of --delay)")
	f.StringVar(&uniqueKey, "unique-key", "", "do not enqueue while a job with this key waits or runs")
	f.IntVar(&maxAttempts, "max-attempts", 0, "attempts before the job fails for good (default 25)")
	f.StringVar(&timeout, "timeout", "", "per-attempt timeout (Go duration or seconds; default 5m)")
	f.StringArrayVar(&tags, "tag", nil, "tag the job (repeatable)")
	f.StringVar(&meta, "meta", "", "free-form metadata as a JSON object")
	return cmd
}

// durationValue passes a number of seconds as a JSON number and anything
// else as a string for the API to parse (and reject with a clear message).
func durationValue(s string) any {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	return s
}
