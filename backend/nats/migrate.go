package nats

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Migrate creates the ready stream and the KV buckets if they are missing.
// Idempotent; it never changes an existing stream's storage or replicas.
func (b *Backend) Migrate(ctx context.Context) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	for _, name := range b.names.allBuckets() {
		_, err := b.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:   name,
			History:  1,
			Storage:  jetstream.FileStorage,
			Replicas: b.cfg.Replicas,
		})
		if err != nil && !errors.Is(err, jetstream.ErrBucketExists) {
			return b.wrap("create bucket "+name, err)
		}
	}
	_, err := b.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:        b.names.readyStream(),
		Description: "conveyor: IDs of jobs ready to claim, one subject per queue and priority",
		Subjects:    []string{b.names.readySubjects()},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    b.cfg.Replicas,
		Discard:     jetstream.DiscardOld,
		// Ready messages are dedup'd by nothing: duplicates are harmless
		// (the record CAS decides), so keep the window small.
		Duplicates: 2 * time.Minute,
	})
	if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return b.wrap("create stream", err)
	}
	return b.bind(ctx)
}

// bind looks up the streams and buckets.
func (b *Backend) bind(ctx context.Context) error {
	targets := []*jetstream.KeyValue{&b.jobs, &b.queues, &b.uniq, &b.sched, &b.running, &b.records}
	for i, name := range b.names.allBuckets() {
		kv, err := b.js.KeyValue(ctx, name)
		if err != nil {
			return b.wrap(fmt.Sprintf("bucket %s (run Migrate)", name), err)
		}
		*targets[i] = kv
	}
	s, err := b.js.Stream(ctx, b.names.readyStream())
	if err != nil {
		return b.wrap("stream "+b.names.readyStream()+" (run Migrate)", err)
	}
	b.ready = s
	return nil
}
