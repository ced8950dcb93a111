package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"conveyor"
	"conveyor/schedule"
)

// The demo job kinds.
const (
	KindSleep  = "demo.sleep"
	KindFail   = "demo.fail"
	KindEcho   = "demo.echo"
	KindReport = "demo.report"
)

// Kinds lists the demo kinds.
var Kinds = []string{KindEcho, KindFail, KindReport, KindSleep}

// maxSleep bounds demo.sleep and demo.report so a typo cannot park a worker
// slot for days (the job's timeout would end it anyway, but later).
const maxSleep = 10 * time.Minute

// Options tune the demo kinds. The zero value is what `conveyor dev` uses.
type Options struct {
	// RetryDelay is demo.fail's fixed delay between attempts. Default 1s.
	RetryDelay time.Duration
}

// SleepArgs are demo.sleep's args.
type SleepArgs struct {
	// MS is how long to sleep, in milliseconds.
	MS int `json:"ms"`
}

// SleepResult is demo.sleep's result.
type SleepResult struct {
	SleptMS int `json:"slept_ms"`
}

// FailArgs are demo.fail's args.
type FailArgs struct {
	// Times is how many attempts fail before one succeeds.
	Times int `json:"times"`
}

// FailResult is demo.fail's result.
type FailResult struct {
	// SucceededAt is the attempt that succeeded.
	SucceededAt int `json:"succeeded_at_attempt"`
}

// ReportArgs are demo.report's args.
type ReportArgs struct {
	// Steps is the number of steps. Default 5.
	Steps int `json:"steps"`
	// StepMS is each step's duration in milliseconds. Default 600.
	StepMS int `json:"step_ms"`
}

// Progress is what demo.report reports after each step.
type Progress struct {
	Step    int `json:"step"`
	Total   int `json:"total"`
	Percent int `json:"percent"`
}

// ReportResult is demo.report's result.
type ReportResult struct {
	Steps int `json:"steps"`
}

// Register adds the demo kinds to ws.
func Register(ws *conveyor.Workers, opts Options) error {
	if opts.RetryDelay == 0 {
		opts.RetryDelay = time.Second
	}
	if err := conveyor.Register(ws, KindSleep, sleep, nil); err != nil {
		return err
	}
	if err := conveyor.Register(ws, KindFail, fail, &conveyor.HandlerOptions{RetryPolicy: conveyor.FixedRetryPolicy(opts.RetryDelay)}); err != nil {
		return err
	}
	if err := ws.Handle(KindEcho, conveyor.HandlerFunc(echo), nil); err != nil {
		return err
	}
	return conveyor.Register(ws, KindReport, report, nil)
}

func sleep(ctx context.Context, job *conveyor.Job[SleepArgs]) (SleepResult, error) {
	d := time.Duration(job.Args.MS) * time.Millisecond
	if d < 0 || d > maxSleep {
		return SleepResult{}, conveyor.NoRetry(fmt.Errorf("demo.sleep: ms must be between 0 and %d, got %d", maxSleep.Milliseconds(), job.Args.MS))
	}
	if err := wait(ctx, d); err != nil {
		return SleepResult{}, err
	}
	return SleepResult{SleptMS: job.Args.MS}, nil
}

func fail(ctx context.Context, job *conveyor.Job[FailArgs]) (FailResult, error) {
	if job.Attempt <= job.Args.Times {
		return FailResult{}, fmt.Errorf("demo.fail: failing attempt %d of the first %d on purpose", job.Attempt, job.Args.Times)
	}
	return FailResult{SucceededAt: job.Attempt}, nil
}

func echo(ctx context.Context, job *conveyor.JobRecord) (json.RawMessage, error) {
	return job.Args, nil
}

func report(ctx context.Context, job *conveyor.Job[ReportArgs]) (ReportResult, error) {
	steps, stepMS := job.Args.Steps, job.Args.StepMS
	if steps == 0 {
		steps = 5
	}
	if stepMS == 0 {
		stepMS = 600
	}
	if steps < 0 || stepMS < 0 || time.Duration(steps)*time.Duration(stepMS)*time.Millisecond > maxSleep || steps > 10000 {
		return ReportResult{}, conveyor.NoRetry(fmt.Errorf("demo.report: steps and step_ms must be positive and last at most %s in all", maxSleep))
	}
	log := conveyor.LoggerFromContext(ctx)
	for i := 1; i <= steps; i++ {
		if err := wait(ctx, time.Duration(stepMS)*time.Millisecond); err != nil {
			return ReportResult{}, err
		}
		// Progress is best effort: a failure to record it must not fail the work.
		if err := conveyor.SetProgress(ctx, Progress{Step: i, Total: steps, Percent: i * 100 / steps}); err != nil {
			log.Debug("demo.report: progress not recorded", "err", err)
		}
	}
	return ReportResult{Steps: steps}, nil
}

// wait sleeps d or until ctx ends.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Schedules are the demo schedules `conveyor dev` declares: demo.tick runs
// demo.echo every minute, so the dev page shows a schedule at work.
func Schedules() []schedule.Schedule {
	return []schedule.Schedule{{
		Name: "demo.tick",
		Cron: "@every 1m",
		Kind: KindEcho,
		Args: json.RawMessage(`{"message":"tick from the demo.tick schedule"}`),
	}}
}
