package nats

import (
	"context"
	"os"
	"strconv"
	"testing"

	natsio "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// BenchmarkRawWrites separates what a per-job record write costs the
// server: 1000 async publishes awaited together per iteration, to one
// subject or to a subject per key, into a plain stream or a KV-shaped one
// (one message kept per subject), with or without the revision condition
// (Nats-Expected-Last-Subject-Sequence) that makes a KV write a
// compare-and-set. "update" rewrites 1000 existing keys each conditional
// on its revision: the shape of a claim's and a finish's record writes.
func BenchmarkRawWrites(b *testing.B) {
	for _, c := range []struct {
		name     string
		perKey   bool // a subject per key
		kvShape  bool // MaxMsgsPerSubject 1
		expect   bool // revision condition
		rewrites bool // keys exist: rewrite them
	}{
		{name: "one-subject", perKey: false},
		{name: "distinct-plain", perKey: true},
		{name: "distinct-kv-create-noexpect", perKey: true, kvShape: true},
		{name: "distinct-kv-create-expect0", perKey: true, kvShape: true, expect: true},
		{name: "distinct-kv-update-noexpect", perKey: true, kvShape: true, rewrites: true},
		{name: "distinct-kv-update-expect", perKey: true, kvShape: true, expect: true, rewrites: true},
	} {
		b.Run(c.name, func(b *testing.B) {
			nc, err := natsio.Connect(serverURL(b))
			require.NoError(b, err)
			defer nc.Close()
			js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
			require.NoError(b, err)
			name := randomPrefix() + "_rawkv"
			cfg := jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}, Storage: jetstream.FileStorage}
			if c.kvShape {
				cfg.MaxMsgsPerSubject = 1
			}
			_, err = js.CreateStream(context.Background(), cfg)
			require.NoError(b, err)
			defer func() { _ = js.DeleteStream(context.Background(), name) }()
			size, _ := strconv.Atoi(os.Getenv("RAW_SIZE"))
			if size == 0 {
				size = 400 // about a job record
			}
			data := make([]byte, size)
			for i := range data {
				data[i] = 'x'
			}
			revs := make([]uint64, b.N*benchBatch)
			subj := func(i int) string {
				if !c.perKey {
					return name + ".x"
				}
				return name + ".k" + strconv.Itoa(i)
			}
			publish := func(from int) {
				futs := make([]jetstream.PubAckFuture, benchBatch)
				for k := range benchBatch {
					m := natsio.NewMsg(subj(from + k))
					m.Data = data
					if c.expect {
						m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(revs[from+k], 10))
					}
					futs[k], err = js.PublishMsgAsync(m)
					if err != nil {
						b.Fatal(err)
					}
				}
				for k, f := range futs {
					select {
					case a := <-f.Ok():
						revs[from+k] = a.Sequence
					case err := <-f.Err():
						b.Fatal(err)
					}
				}
			}
			if c.rewrites {
				saved := c.expect
				c.expect = false
				for i := range b.N {
					publish(i * benchBatch)
				}
				c.expect = saved
			}
			cpu := startCPU()
			b.ResetTimer()
			for i := range b.N {
				publish(i * benchBatch)
			}
			b.StopTimer()
			cpu.report(b, b.N*benchBatch)
			b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
