package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"conveyor"
	"conveyor/server"
)

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table writes aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) { fmt.Fprintln(t.tw, strings.Join(cells, "\t")) }
func (t *table) flush() error        { return t.tw.Flush() }

// ago renders a time as a short age ("3s ago", "2h ago") for tables.
func ago(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Second:
		s = d.Round(time.Millisecond).String()
	case d < time.Minute:
		s = fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		s = fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%dh", int(d.Hours()))
	default:
		s = fmt.Sprintf("%dd", int(d.Hours()/24))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printJobTable prints jobs one per line.
func printJobTable(w io.Writer, jobs []*server.JobView) error {
	now := time.Now()
	t := newTable(w, "ID", "KIND", "QUEUE", "STATE", "ATTEMPT", "ENQUEUED", "DURATION", "LAST ERROR")
	for _, j := range jobs {
		lastErr := ""
		if n := len(j.Errors); n > 0 {
			lastErr = oneLine(j.Errors[n-1].Message, 60)
		}
		t.row(j.ID, j.Kind, j.Queue, string(j.State), fmt.Sprintf("%d/%d", j.Attempt, j.MaxAttempts), ago(j.EnqueuedAt, now), orDash(j.Duration), orDash(lastErr))
	}
	return t.flush()
}

// printJob prints one job as "field: value" lines.
func printJob(w io.Writer, j *server.JobView) error {
	now := time.Now()
	t := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	line := func(k, v string) { fmt.Fprintf(t, "%s:\t%s\n", k, v) }
	line("id", j.ID)
	line("kind", j.Kind)
	line("queue", j.Queue)
	state := string(j.State)
	if j.CancelRequested {
		state += " (cancel requested)"
	}
	line("state", state)
	line("attempt", fmt.Sprintf("%d of %d", j.Attempt, j.MaxAttempts))
	line("priority", fmt.Sprint(j.Priority))
	line("args", oneLine(string(j.Args), 200))
	line("enqueued", fmtTime(j.EnqueuedAt, now))
	if j.State == conveyor.StateScheduled || j.State == conveyor.StateRetrying {
		line("runs", fmtTime(j.RunAt, now))
	}
	if j.StartedAt != nil {
		line("started", fmtTime(*j.StartedAt, now))
	}
	if j.FinishedAt != nil {
		line("finished", fmtTime(*j.FinishedAt, now))
	}
	if j.Duration != "" {
		line("duration", j.Duration)
	}
	line("timeout", j.Timeout)
	if j.UniqueKey != "" {
		line("unique key", j.UniqueKey)
	}
	if len(j.Tags) > 0 {
		line("tags", strings.Join(j.Tags, ", "))
	}
	if len(j.Progress) > 0 {
		line("progress", oneLine(string(j.Progress), 200))
	}
	if len(j.Result) > 0 {
		line("result", oneLine(string(j.Result), 200))
	}
	if j.LeaseOwner != "" {
		line("worker", j.LeaseOwner)
	}
	for _, e := range j.Errors {
		line(fmt.Sprintf("error #%d", e.Attempt), fmt.Sprintf("%s (%s)", oneLine(e.Message, 200), ago(e.At, now)))
	}
	return t.Flush()
}

func fmtTime(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return fmt.Sprintf("%s (%s)", t.Local().Format("2006-01-02 15:04:05.000"), ago(t, now))
}

// oneLine squeezes s onto one line of at most n bytes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func printQueueTable(w io.Writer, qs []server.QueueView) error {
	t := newTable(w, "QUEUE", "PAUSED", "SCHEDULED", "QUEUED", "RUNNING", "RETRYING", "COMPLETED", "FAILED", "CANCELLED", "OLDEST QUEUED")
	now := time.Now()
	for _, q := range qs {
		paused := "no"
		if q.Paused {
			paused = "yes"
		}
		oldest := "-"
		if q.OldestQueuedAt != nil {
			oldest = ago(*q.OldestQueuedAt, now)
		}
		c := q.Counts
		t.row(q.Name, paused,
			fmt.Sprint(c[conveyor.StateScheduled]), fmt.Sprint(c[conveyor.StateQueued]), fmt.Sprint(c[conveyor.StateRunning]),
			fmt.Sprint(c[conveyor.StateRetrying]), fmt.Sprint(c[conveyor.StateCompleted]), fmt.Sprint(c[conveyor.StateFailed]),
			fmt.Sprint(c[conveyor.StateCancelled]), oldest)
	}
	return t.flush()
}
