package nats

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"conveyor/backend"
	"conveyor/bench/harness"

	"github.com/google/uuid"
	natsio "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// Port-level benchmarks, each reporting jobs/s, beside raw JetStream
// benchmarks of the same shape on the same server (CONVEYOR_TEST_NATS or
// the embedded one):
//
//	go test -run '^$' -bench . -benchtime 20x ./backend/nats/

const benchBatch = 1000

func benchBackend(b *testing.B) *Backend {
	be, _ := newTestBackend(b)
	return be
}

func benchInserts(queue string, n int) []*backend.JobInsert {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ins := make([]*backend.JobInsert, n)
	for i := range ins {
		ins[i] = &backend.JobInsert{
			ID: uuid.Must(uuid.NewV7()).String(), Kind: "bench", Queue: queue,
			Args: json.RawMessage(`{"n":1}`), MaxAttempts: 3, Timeout: time.Minute, RunAt: now,
		}
	}
	return ins
}

// BenchmarkEnqueueBatch: JobEnqueue of 1000 jobs per call.
func BenchmarkEnqueueBatch(b *testing.B) {
	be := benchBackend(b)
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	cpu := startCPU()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		ins := benchInserts("bench", benchBatch)
		b.StartTimer()
		if _, err := be.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: ins, Now: now}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu.report(b, b.N*benchBatch)
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "jobs/s")
}

// BenchmarkClaimFinish: burn-down of a pre-filled queue, JobClaim of 1000
// then JobFinish (completed) of the same 1000 per iteration.
func BenchmarkClaimFinish(b *testing.B) {
	be := benchBackend(b)
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for range b.N {
		if _, err := be.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: benchInserts("bench", benchBatch), Now: now}); err != nil {
			b.Fatal(err)
		}
	}
	cpu := startCPU()
	b.ResetTimer()
	var claimSrv, finishSrv time.Duration
	out0, in0 := be.nc.Stats().OutMsgs, be.nc.Stats().InMsgs
	pid := os.Getenv("CONVEYOR_TEST_NATS_PID")
	for range b.N {
		t0 := procCPU(pid)
		res, err := be.JobClaim(ctx, &backend.JobClaimParams{Queue: "bench", Limit: benchBatch, Owner: "w", LeaseDuration: time.Minute, Now: now})
		if err != nil {
			b.Fatal(err)
		}
		t1 := procCPU(pid)
		outs := make([]*backend.JobOutcome, len(res.Jobs))
		for i, j := range res.Jobs {
			outs[i] = &backend.JobOutcome{ID: j.ID, LeaseToken: j.LeaseToken, Outcome: backend.OutcomeCompleted}
		}
		fin, err := be.JobFinish(ctx, &backend.JobFinishParams{Jobs: outs, Now: now})
		claimSrv, finishSrv = claimSrv+t1-t0, finishSrv+procCPU(pid)-t1
		if err != nil || len(fin.LeaseLost) > 0 || len(res.Jobs) != benchBatch {
			b.Fatalf("claimed %d, lost %d, err %v", len(res.Jobs), len(fin.LeaseLost), err)
		}
	}
	b.StopTimer()
	cpu.report(b, b.N*benchBatch)
	st := be.nc.Stats()
	b.ReportMetric(float64(st.OutMsgs-out0)/float64(b.N*benchBatch), "out-msgs/job")
	b.ReportMetric(float64(st.InMsgs-in0)/float64(b.N*benchBatch), "in-msgs/job")
	if pid != "" {
		b.ReportMetric(float64(claimSrv.Microseconds())/float64(b.N*benchBatch), "srv-claim-us/job")
		b.ReportMetric(float64(finishSrv.Microseconds())/float64(b.N*benchBatch), "srv-finish-us/job")
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "jobs/s")
}

// BenchmarkWorkerLike: 8 goroutines each claiming 16 and finishing what they
// claimed, as a worker with small claims does, over a pre-filled queue.
func BenchmarkWorkerLike(b *testing.B) {
	be := benchBackend(b)
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	total := b.N * benchBatch
	for range b.N {
		if _, err := be.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: benchInserts("bench", benchBatch), Now: now}); err != nil {
			b.Fatal(err)
		}
	}
	cpu := startCPU()
	b.ResetTimer()
	var mu sync.Mutex
	done := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				mu.Lock()
				if done >= total {
					mu.Unlock()
					return
				}
				mu.Unlock()
				res, err := be.JobClaim(ctx, &backend.JobClaimParams{Queue: "bench", Limit: 16, Owner: "w", LeaseDuration: time.Minute, Now: now})
				if err != nil {
					b.Error(err)
					return
				}
				outs := make([]*backend.JobOutcome, len(res.Jobs))
				for i, j := range res.Jobs {
					outs[i] = &backend.JobOutcome{ID: j.ID, LeaseToken: j.LeaseToken, Outcome: backend.OutcomeCompleted}
				}
				if _, err := be.JobFinish(ctx, &backend.JobFinishParams{Jobs: outs, Now: now}); err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				done += len(res.Jobs)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	cpu.report(b, total)
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "jobs/s")
}

// rawStream creates a throwaway work-queue stream for the raw benchmarks.
func rawStream(b *testing.B) (jetstream.JetStream, jetstream.Stream, string) {
	nc, err := natsio.Connect(serverURL(b))
	require.NoError(b, err)
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	require.NoError(b, err)
	name := randomPrefix() + "_raw"
	s, err := js.CreateStream(context.Background(), jetstream.StreamConfig{
		Name: name, Subjects: []string{name + ".>"}, Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage,
	})
	require.NoError(b, err)
	b.Cleanup(func() { _ = js.DeleteStream(context.Background(), name) })
	return js, s, name
}

// BenchmarkRawPublishAsync: 1000 async publishes awaited together.
func BenchmarkRawPublishAsync(b *testing.B) {
	js, _, name := rawStream(b)
	data := []byte(`{"id":"01a208c4-3dbc-7d26-b475-1bebfbe7a1ef","n":1}`)
	cpu := startCPU()
	b.ResetTimer()
	for range b.N {
		for range benchBatch {
			if _, err := js.PublishAsync(name+".x", data); err != nil {
				b.Fatal(err)
			}
		}
		<-js.PublishAsyncComplete()
	}
	b.StopTimer()
	cpu.report(b, b.N*benchBatch)
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkRawFetchAck: fetch 1000 from a pull consumer and ack each.
func BenchmarkRawFetchAck(b *testing.B) {
	js, s, name := rawStream(b)
	for range b.N * benchBatch {
		if _, err := js.PublishAsync(name+".x", []byte("x")); err != nil {
			b.Fatal(err)
		}
	}
	<-js.PublishAsyncComplete()
	c, err := s.CreateOrUpdateConsumer(context.Background(), jetstream.ConsumerConfig{Durable: "c", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 50000})
	require.NoError(b, err)
	cpu := startCPU()
	b.ResetTimer()
	for range b.N {
		batch, err := c.Fetch(benchBatch)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			_ = m.Ack()
			n++
		}
		if n != benchBatch {
			b.Fatalf("fetched %d", n)
		}
	}
	b.StopTimer()
	cpu.report(b, b.N*benchBatch)
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkRawLatency: the floor of enqueue -> start on this server and
// machine. Like the latency workload (harness.LatencyRate publishes/s for
// harness.LatencyDuration, each from its own goroutine), every message is
// a synchronous publish of its send time to a work-queue stream, received
// by a pull consumer parked in Consume (a long-expiry pull that returns as
// soon as a message arrives) and acknowledged; p50/p99 of send -> receipt.
func BenchmarkRawLatency(b *testing.B) {
	js, s, name := rawStream(b)
	c, err := s.CreateOrUpdateConsumer(context.Background(), jetstream.ConsumerConfig{Durable: "c", AckPolicy: jetstream.AckExplicitPolicy})
	require.NoError(b, err)
	total := harness.LatencyRate * int(harness.LatencyDuration/time.Second)
	var (
		mu   sync.Mutex
		lats []time.Duration
	)
	got := make(chan struct{}, total)
	cc, err := c.Consume(func(m jetstream.Msg) {
		sent, _ := strconv.ParseInt(string(m.Data()), 10, 64)
		mu.Lock()
		lats = append(lats, time.Duration(time.Now().UnixNano()-sent))
		mu.Unlock()
		_ = m.Ack()
		got <- struct{}{}
	})
	require.NoError(b, err)
	defer cc.Stop()
	b.ResetTimer()
	for range b.N {
		mu.Lock()
		lats = lats[:0]
		mu.Unlock()
		interval := time.Second / harness.LatencyRate
		begin := time.Now()
		var wg sync.WaitGroup
		for i := range total {
			time.Sleep(time.Until(begin.Add(time.Duration(i) * interval)))
			wg.Go(func() {
				if _, err := js.Publish(context.Background(), name+".x", strconv.AppendInt(nil, time.Now().UnixNano(), 10)); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		for range total {
			<-got
		}
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lats)
	b.ReportMetric(float64(lats[len(lats)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(lats[len(lats)*99/100])/1e6, "p99-ms")
}

// BenchmarkGetJobs: pipelined direct gets of 1000 job records, what a
// claim would cost the server if it read each record instead of writing
// it (see doc.go, "Where the time goes").
func BenchmarkGetJobs(b *testing.B) {
	be := benchBackend(b)
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ins := benchInserts("bench", benchBatch)
	if _, err := be.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: ins, Now: now}); err != nil {
		b.Fatal(err)
	}
	ids := make([]string, len(ins))
	for i, in := range ins {
		ids[i] = in.ID
	}
	cpu := startCPU()
	b.ResetTimer()
	for range b.N {
		for _, e := range be.getJobs(ctx, ids) {
			if e.err != nil || e.job == nil {
				b.Fatalf("read: %v", e.err)
			}
		}
	}
	b.StopTimer()
	cpu.report(b, b.N*benchBatch)
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "jobs/s")
}

// BenchmarkOneByOne: the latency workload's backend path, one job at a
// time: JobEnqueue of 1 job, a JobClaim asking for 100 (it comes back
// short, as an idle worker's claim does) and JobFinish of that job.
func BenchmarkOneByOne(b *testing.B) {
	be := benchBackend(b)
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	claim := func() {
		res, err := be.JobClaim(ctx, &backend.JobClaimParams{Queue: "bench", Limit: 100, Owner: "w", LeaseDuration: time.Minute, Now: now})
		if err != nil {
			b.Fatal(err)
		}
		outs := make([]*backend.JobOutcome, len(res.Jobs))
		for i, j := range res.Jobs {
			outs[i] = &backend.JobOutcome{ID: j.ID, LeaseToken: j.LeaseToken, Outcome: backend.OutcomeCompleted}
		}
		if _, err := be.JobFinish(ctx, &backend.JobFinishParams{Jobs: outs, Now: now}); err != nil {
			b.Fatal(err)
		}
		if len(res.Jobs) != 1 {
			b.Fatalf("claimed %d", len(res.Jobs))
		}
	}
	enqueue := func() {
		if _, err := be.JobEnqueue(ctx, &backend.JobEnqueueParams{Jobs: benchInserts("bench", 1), Now: now}); err != nil {
			b.Fatal(err)
		}
	}
	enqueue()
	claim() // queue record, consumer and priority known from here on
	out0 := be.nc.Stats().OutMsgs
	cpu := startCPU()
	b.ResetTimer()
	for range b.N {
		enqueue()
		claim()
	}
	b.StopTimer()
	cpu.report(b, b.N)
	b.ReportMetric(float64(be.nc.Stats().OutMsgs-out0)/float64(b.N), "out-msgs/job")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "wall-us/job")
}
