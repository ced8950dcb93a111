package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"conveyor/bench/harness"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// asynqQueue is the asynq queue the benchmark uses (in its own Redis DB).
const asynqQueue = "bench"

// asynqSystem runs asynq in a dedicated Redis database with
// TaskCheckInterval 10 ms and Concurrency = C.
type asynqSystem struct {
	opt    asynq.RedisClientOpt
	rdb    *redis.Client
	client *asynq.Client

	mu      sync.Mutex
	srv     *asynq.Server
	pollEnd context.CancelFunc
	polled  chan struct{}
}

var _ harness.System = (*asynqSystem)(nil)

func newAsynq(ctx context.Context, addr string, db int) (*asynqSystem, error) {
	if db == 0 {
		return nil, fmt.Errorf("asynq: refusing Redis db 0: it is flushed, use a dedicated db number")
	}
	s := &asynqSystem{opt: asynq.RedisClientOpt{Addr: addr, DB: db}}
	s.rdb = redis.NewClient(&redis.Options{Addr: addr, DB: db})
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		_ = s.rdb.Close()
		return nil, fmt.Errorf("asynq: redis %s: %w", addr, err)
	}
	s.client = asynq.NewClient(s.opt)
	return s, nil
}

// Name implements harness.System.
func (s *asynqSystem) Name() string { return "asynq-redis" }

// Reset flushes the dedicated database.
func (s *asynqSystem) Reset(ctx context.Context) error {
	return s.rdb.FlushDB(ctx).Err()
}

func task(sentAt int64) *asynq.Task {
	payload, _ := json.Marshal(struct {
		T int64 `json:"t"`
	}{sentAt})
	return asynq.NewTask("bench", payload)
}

// Enqueue enqueues one task.
func (s *asynqSystem) Enqueue(ctx context.Context, sentAt int64) error {
	_, err := s.client.EnqueueContext(ctx, task(sentAt), asynq.Queue(asynqQueue))
	return err
}

// EnqueueBatch: asynq has no batch enqueue.
func (s *asynqSystem) EnqueueBatch(ctx context.Context, sentAt int64, n int) error {
	return harness.ErrNoBatch
}

// Start starts an asynq server. Completions are counted from asynq's
// per-queue "processed" counter, which its done script increments in the same
// atomic step that removes the task from the active list; a poller reads it
// every millisecond.
func (s *asynqSystem) Start(ctx context.Context, p *harness.StartParams) error {
	srv := asynq.NewServer(s.opt, asynq.Config{
		Concurrency:       p.Workers,
		TaskCheckInterval: 10 * time.Millisecond,
		Queues:            map[string]int{asynqQueue: 1},
		LogLevel:          asynq.WarnLevel,
		ShutdownTimeout:   10 * time.Second,
	})
	onStart := p.OnStart
	h := asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		if onStart != nil {
			var a struct {
				T int64 `json:"t"`
			}
			if err := json.Unmarshal(t.Payload(), &a); err != nil {
				return err
			}
			onStart(a.T)
		}
		return nil
	})
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	polled := make(chan struct{})
	go s.poll(pctx, p.Done, polled)
	if err := srv.Start(h); err != nil {
		cancel()
		<-polled
		return err
	}
	s.mu.Lock()
	s.srv, s.pollEnd, s.polled = srv, cancel, polled
	s.mu.Unlock()
	return nil
}

func (s *asynqSystem) poll(ctx context.Context, done *harness.Counter, end chan struct{}) {
	defer close(end)
	key := "asynq:{" + asynqQueue + "}:processed"
	var seen int64
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v, err := s.rdb.Get(ctx, key).Result()
		if err != nil {
			continue // redis.Nil before the first completion
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue
		}
		if n > seen {
			done.AddAt(n-seen, time.Now())
			seen = n
		}
	}
}

// Stop shuts the server down.
func (s *asynqSystem) Stop(ctx context.Context) error {
	s.mu.Lock()
	srv, cancel, polled := s.srv, s.pollEnd, s.polled
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	srv.Shutdown()
	cancel()
	<-polled
	return nil
}

// Close flushes the dedicated database and closes connections.
func (s *asynqSystem) Close(ctx context.Context) error {
	_ = s.Stop(ctx)
	err := s.rdb.FlushDB(ctx).Err()
	_ = s.client.Close()
	_ = s.rdb.Close()
	return err
}

// Durability describes asynq: as durable as the Redis server's persistence.
func (s *asynqSystem) Durability() string {
	return "Written to Redis memory: survives a crash only as far as the Redis server's AOF/RDB persistence does."
}
