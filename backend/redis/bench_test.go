package redis

import (
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"conveyor/backend"
)

// Port-level benchmarks against the shared server. jobs/s is the figure to
// read; ns/op is per call (one job for single enqueue, 1000 otherwise).
//
//	go test -run '^$' -bench . -benchtime 3s ./backend/redis/

// BenchmarkEnqueueSingle enqueues one job per call from 16 goroutines.
func BenchmarkEnqueueSingle(b *testing.B) {
	be := setup(b)
	b.SetParallelism(max(1, 16/max(1, testingProcs())))
	cpu0, calls0, go0 := serverCPU(b, be), serverCalls(b, be), processCPU(b)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := be.JobEnqueue(b.Context(), &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{insert("bench")}, Now: t0}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
	b.ReportMetric(float64((processCPU(b)-go0).Microseconds())/float64(b.N), "go-µs/job")
	reportServerCPU(b, be, cpu0, b.N)
	b.ReportMetric(float64(serverCalls(b, be)-calls0-2)/float64(b.N), "cmds/job")
}

// BenchmarkEnqueueBatch enqueues 1000 jobs per call.
func BenchmarkEnqueueBatch(b *testing.B) {
	be := setup(b)
	jobs := make([]*backend.JobInsert, 1000)
	var elapsed time.Duration
	cpu0, calls0 := serverCPU(b, be), serverCalls(b, be)
	for b.Loop() {
		b.StopTimer()
		for i := range jobs {
			jobs[i] = insert("bench")
		}
		b.StartTimer()
		start := time.Now()
		if _, err := be.JobEnqueue(b.Context(), &backend.JobEnqueueParams{Jobs: jobs, Now: t0}); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(b.N*len(jobs))/elapsed.Seconds(), "jobs/s")
	reportServerCPU(b, be, cpu0, b.N*len(jobs))
	b.ReportMetric(float64(serverCalls(b, be)-calls0-2)/float64(b.N*len(jobs)), "cmds/job")
}

// BenchmarkClaimFinish claims 1000 jobs in one call and completes them in
// one call (the burn-down path without handlers).
func BenchmarkClaimFinish(b *testing.B) {
	be := setup(b)
	jobs := make([]*backend.JobInsert, 1000)
	outs := make([]*backend.JobOutcome, 1000)
	var elapsed, cpu, claimCPU, goCPU time.Duration
	var calls int64
	for b.Loop() {
		b.StopTimer()
		for i := range jobs {
			jobs[i] = insert("bench")
		}
		if _, err := be.JobEnqueue(b.Context(), &backend.JobEnqueueParams{Jobs: jobs, Now: t0}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		cpu0, calls0 := serverCPU(b, be), serverCalls(b, be)
		start, go0 := time.Now(), processCPU(b)
		res, err := be.JobClaim(b.Context(), &backend.JobClaimParams{Queue: "bench", Limit: 1000, Owner: "w", LeaseDuration: time.Minute, Now: t0})
		if err != nil || len(res.Jobs) != 1000 {
			b.Fatalf("claim: %d jobs, %v", len(res.Jobs), err)
		}
		claimCPU += serverCPU(b, be) - cpu0
		for i, j := range res.Jobs {
			outs[i] = &backend.JobOutcome{ID: j.ID, LeaseToken: j.LeaseToken, Outcome: backend.OutcomeCompleted}
		}
		fin, err := be.JobFinish(b.Context(), &backend.JobFinishParams{Jobs: outs, Now: t0})
		if err != nil || len(fin.LeaseLost) > 0 {
			b.Fatalf("finish: %v lost, %v", len(fin.LeaseLost), err)
		}
		elapsed += time.Since(start)
		goCPU += processCPU(b) - go0
		cpu += serverCPU(b, be) - cpu0
		calls += serverCalls(b, be) - calls0 - 2
	}
	b.ReportMetric(float64(calls)/float64(b.N*len(jobs)), "cmds/job")
	b.ReportMetric(float64(b.N*len(jobs))/elapsed.Seconds(), "jobs/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*len(jobs)), "server-µs/job")
	b.ReportMetric(float64(claimCPU.Microseconds())/float64(b.N*len(jobs)), "claim-µs/job")
	b.ReportMetric(float64(goCPU.Microseconds())/float64(b.N*len(jobs)), "go-µs/job")
}

// processCPU returns the CPU time (user + system) this process used so far:
// the Go side of a claim and finish, for a per-job figure a loaded machine
// distorts less than wall time.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serverCPU returns the CPU time of the server's main thread so far (INFO
// cpu: user + sys of the main thread, which runs every command; the
// allocator's background threads are left out as they add noise, not
// work per job), so benchmarks can report server CPU per job, which a loaded
// machine distorts far less than wall time.
func serverCPU(b *testing.B, be *Backend) time.Duration {
	info, err := be.rdb.Info(b.Context(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		name, val, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (name == "used_cpu_user_main_thread" || name == "used_cpu_sys_main_thread") {
			f, _ := strconv.ParseFloat(val, 64)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

// commandStat is one command's line of INFO commandstats, which counts
// the commands scripts run too.
type commandStat struct {
	calls int64
	usec  int64 // time the server spent in it, by its own count
}

// commandStats returns INFO commandstats by command name ("evalsha").
func commandStats(b *testing.B, be *Backend) map[string]commandStat {
	info, err := be.rdb.Info(b.Context(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	stats := map[string]commandStat{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		name, found := strings.CutPrefix(name, "cmdstat_")
		if !ok || !found {
			continue
		}
		var st commandStat
		for field := range strings.SplitSeq(rest, ",") {
			key, val, _ := strings.Cut(field, "=")
			v, _ := strconv.ParseInt(val, 10, 64)
			switch key {
			case "calls":
				st.calls = v
			case "usec":
				st.usec = v
			}
		}
		stats[name] = st
	}
	return stats
}

// serverCalls returns the number of commands the server ran so far.
func serverCalls(b *testing.B, be *Backend) int64 {
	var total int64
	for _, st := range commandStats(b, be) {
		total += st.calls
	}
	return total
}

// reportServerCPU reports the server CPU µs per job since cpu0.
func reportServerCPU(b *testing.B, be *Backend, cpu0 time.Duration, jobs int) {
	b.ReportMetric(float64((serverCPU(b, be)-cpu0).Microseconds())/float64(jobs), "server-µs/job")
}

func testingProcs() int { return runtimeGOMAXPROCS() }

func runtimeGOMAXPROCS() int { return runtime.GOMAXPROCS(0) }

// BenchmarkWake measures enqueue -> QueueWatch signal -> claim, the path an
// idle worker takes; it reports the median and p99 in ms.
func BenchmarkWake(b *testing.B) {
	be := setup(b)
	w, err := be.QueueWatch(b.Context(), &backend.QueueWatchParams{Queues: []string{"wake"}})
	if err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		start := time.Now()
		if _, err := be.JobEnqueue(b.Context(), &backend.JobEnqueueParams{Jobs: []*backend.JobInsert{insert("wake")}, Now: t0}); err != nil {
			b.Fatal(err)
		}
		<-w.C
		res, err := be.JobClaim(b.Context(), &backend.JobClaimParams{Queue: "wake", Limit: 10, Owner: "w", LeaseDuration: time.Minute, Now: t0})
		if err != nil || len(res.Jobs) != 1 {
			b.Fatalf("claim: %v", err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkEnqueueCall sends enqueue.lua calls of 1 and of 16 jobs one
// after another and reports the server CPU per job and, from the server's
// own timing of EVALSHA (INFO commandstats), the script's share: the
// difference is the round trip and argument parsing (see doc.go, "Where the
// time goes").
func BenchmarkEnqueueCall(b *testing.B) {
	for _, k := range []int{1, 16} {
		b.Run(strconv.Itoa(k), func(b *testing.B) {
			be := setup(b)
			cpu0, script0, n := serverCPU(b, be), evalshaTime(b, be), 0
			for b.Loop() {
				r := &enqueueReq{res: make([]backend.EnqueueOutcome, k)}
				for range k {
					j := insert("bench")
					r.jobs = append(r.jobs, j)
					var err error
					if r.values, err = appendEnqueueValues(r.values, j, t0); err != nil {
						b.Fatal(err)
					}
				}
				be.enqueueGroup(b.Context(), []*enqueueReq{r})
				if r.err != nil {
					b.Fatal(r.err)
				}
				n += k
			}
			reportServerCPU(b, be, cpu0, n)
			b.ReportMetric(float64((evalshaTime(b, be)-script0).Microseconds())/float64(n), "script-µs/job")
		})
	}
}

// evalshaTime returns the time the server spent running EVALSHA calls so
// far, by its own count.
func evalshaTime(b *testing.B, be *Backend) time.Duration {
	return time.Duration(commandStats(b, be)["evalsha"].usec) * time.Microsecond
}
