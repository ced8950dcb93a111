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
		err := retryStoreFailure(ctx, func() error {
			_, err := b.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
				Bucket:   name,
				History:  1,
				Storage:  jetstream.FileStorage,
				Replicas: b.cfg.Replicas,
			})
			return err
		})
		if err != nil && !errors.Is(err, jetstream.ErrBucketExists) {
			return b.wrap("create bucket "+name, err)
		}
	}
	err := retryStoreFailure(ctx, func() error {
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
			// Claims read the last sequence of a subject with a
			// direct get (lastSeq).
			AllowDirect: true,
		})
		return err
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
	cfg := s.CachedInfo().Config
	b.readyDirect = cfg.AllowDirect && cfg.Replicas <= 1
	return nil
}

// storeFailedCode is JetStream's generic stream-create error (10049). A
// standalone server answers it when setting up the stream's file store
// failed; seen transiently with many streams created at once, so creation is
// retried a few times before it counts.
const storeFailedCode jetstream.ErrorCode = 10049

// retryStoreFailure runs create, again after a short pause while it fails
// with storeFailedCode, at most 5 times.
func retryStoreFailure(ctx context.Context, create func() error) error {
	var err error
	for attempt := 1; attempt <= 5; attempt++ {
		err = create()
		var apiErr *jetstream.APIError
		if err == nil || !errors.As(err, &apiErr) || apiErr.ErrorCode != storeFailedCode {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
	return err
}
