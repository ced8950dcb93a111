package conveyor_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"conveyor"
	"conveyor/backend"
	"conveyor/backend/memory"
	"conveyor/internal/clock"

	"github.com/stretchr/testify/require"
)

type clientBundle struct {
	client *conveyor.Client
	b      backend.Backend
	clock  *clock.Fake
}

func setupClient(t *testing.T, cfg conveyor.ClientConfig) clientBundle {
	t.Helper()
	b, err := memory.New(context.Background(), memory.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	fake := clock.NewFake(time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC))
	cfg.Clock = fake
	c, err := conveyor.NewClient(b, cfg)
	require.NoError(t, err)
	return clientBundle{client: c, b: b, clock: fake}
}

func TestNewClientRefusesBadConfig(t *testing.T) {
	t.Parallel()
	_, err := conveyor.NewClient(nil, conveyor.ClientConfig{})
	require.ErrorContains(t, err, "needs a backend")

	b, err := memory.New(context.Background(), memory.Config{})
	require.NoError(t, err)
	_, err = conveyor.NewClient(b, conveyor.ClientConfig{MaxArgsBytes: -1})
	require.ErrorContains(t, err, "MaxArgsBytes")
}

func TestEnqueueDefaults(t *testing.T) {
	t.Parallel()
	s := setupClient(t, conveyor.ClientConfig{})
	ctx := context.Background()

	res, err := s.client.Enqueue(ctx, "email.send", map[string]string{"to": "ada"}, nil)
	require.NoError(t, err)
	require.False(t, res.Duplicate)
	require.Equal(t, conveyor.StateQueued, res.State)

	j, err := s.client.Get(ctx, res.ID)
	require.NoError(t, err)
	require.Equal(t, "email.send", j.Kind)
	require.Equal(t, conveyor.DefaultQueue, j.Queue)
	require.Equal(t, conveyor.DefaultMaxAttempts, j.MaxAttempts)
	require.Equal(t, conveyor.DefaultTimeout, j.Timeout)
	require.JSONEq(t, `{"to":"ada"}`, string(j.Args))
	require.WithinDuration(t, s.clock.Now(), j.RunAt, time.Millisecond)

	nilArgs, err := s.client.Enqueue(ctx, "noop", nil, nil)
	require.NoError(t, err)
	j, err = s.client.Get(ctx, nilArgs.ID)
	require.NoError(t, err)
	require.JSONEq(t, `{}`, string(j.Args))
}

func TestEnqueueOptions(t *testing.T) {
	t.Parallel()
	s := setupClient(t, conveyor.ClientConfig{})
	ctx := context.Background()

	res, err := s.client.Enqueue(ctx, "report", json.RawMessage(`[1,2]`), &conveyor.EnqueueOptions{
		Queue: "reports", Priority: 5, Delay: time.Hour, MaxAttempts: 3, Timeout: time.Second,
		Tags: []string{"a", "b"}, Meta: json.RawMessage(`{"by":"test"}`),
	})
	require.NoError(t, err)
	require.Equal(t, conveyor.StateScheduled, res.State)
	j, err := s.client.Get(ctx, res.ID)
	require.NoError(t, err)
	require.Equal(t, "reports", j.Queue)
	require.Equal(t, 5, j.Priority)
	require.Equal(t, 3, j.MaxAttempts)
	require.Equal(t, time.Second, j.Timeout)
	require.Equal(t, []string{"a", "b"}, j.Tags)
	require.JSONEq(t, `{"by":"test"}`, string(j.Meta))
	require.WithinDuration(t, s.clock.Now().Add(time.Hour), j.RunAt, time.Millisecond)

	at := s.clock.Now().Add(2 * time.Hour)
	res, err = s.client.Enqueue(ctx, "report", nil, &conveyor.EnqueueOptions{RunAt: at})
	require.NoError(t, err)
	j, err = s.client.Get(ctx, res.ID)
	require.NoError(t, err)
	require.WithinDuration(t, at, j.RunAt, time.Millisecond)
}

func TestEnqueueRefusesBadInput(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		kind    string
		args    any
		opts    *conveyor.EnqueueOptions
		wantErr string
	}{
		{name: "EmptyKind", kind: "", wantErr: "kind is empty"},
		{name: "KindWithSpace", kind: "email send", wantErr: `character ' ' at byte 5`},
		{name: "KindTooLong", kind: strings.Repeat("k", 201), wantErr: "at most 200"},
		{name: "BadQueue", kind: "k", opts: &conveyor.EnqueueOptions{Queue: "a b"}, wantErr: "queue"},
		{name: "ArgsNotJSON", kind: "k", args: json.RawMessage(`{"a":`), wantErr: "args are not valid JSON"},
		{name: "ArgsUnencodable", kind: "k", args: make(chan int), wantErr: "args do not encode as JSON"},
		{name: "ArgsTooLarge", kind: "k", args: strings.Repeat("x", 2000), wantErr: "args too large"},
		{name: "NegativeMaxAttempts", kind: "k", opts: &conveyor.EnqueueOptions{MaxAttempts: -1}, wantErr: "max_attempts"},
		{name: "NegativeTimeout", kind: "k", opts: &conveyor.EnqueueOptions{Timeout: -time.Second}, wantErr: "timeout"},
		{name: "NegativeDelay", kind: "k", opts: &conveyor.EnqueueOptions{Delay: -time.Second}, wantErr: "delay"},
		{name: "DelayAndRunAt", kind: "k", opts: &conveyor.EnqueueOptions{Delay: time.Second, RunAt: now}, wantErr: "either delay or run_at"},
		{name: "RunAtTooFar", kind: "k", opts: &conveyor.EnqueueOptions{RunAt: time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC)}, wantErr: "outside 1970-2200"},
		{name: "RunAtTooEarly", kind: "k", opts: &conveyor.EnqueueOptions{RunAt: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)}, wantErr: "outside 1970-2200"},
		{name: "UnknownUniqueState", kind: "k", opts: &conveyor.EnqueueOptions{UniqueKey: "u", UniqueStates: []conveyor.JobState{"done"}}, wantErr: `unknown state "done"`},
		{name: "WindowWithoutKey", kind: "k", opts: &conveyor.EnqueueOptions{UniqueWindow: time.Hour}, wantErr: "needs a unique_key"},
		{name: "NegativeWindow", kind: "k", opts: &conveyor.EnqueueOptions{UniqueKey: "u", UniqueWindow: -time.Hour}, wantErr: "unique_window"},
		{name: "EmptyTag", kind: "k", opts: &conveyor.EnqueueOptions{Tags: []string{""}}, wantErr: "tags"},
		{name: "MetaNotJSON", kind: "k", opts: &conveyor.EnqueueOptions{Meta: json.RawMessage(`{`)}, wantErr: "meta is not valid JSON"},
		// Valid JSON to Go's json.Valid, refused by PostgreSQL.
		{name: "ArgsInvalidUTF8", kind: "k", args: json.RawMessage("\"caf\xe9\""), wantErr: "args are not valid JSON in valid UTF-8"},
		{name: "MetaInvalidUTF8", kind: "k", opts: &conveyor.EnqueueOptions{Meta: json.RawMessage("\"caf\xe9\"")}, wantErr: "meta is not valid JSON in valid UTF-8"},
		{name: "TagWithNUL", kind: "k", opts: &conveyor.EnqueueOptions{Tags: []string{"a\x00b"}}, wantErr: "NUL"},
		{name: "UniqueKeyTooLong", kind: "k", opts: &conveyor.EnqueueOptions{UniqueKey: strings.Repeat("u", 1025)}, wantErr: "unique_key is 1025 bytes"},
		{name: "UniqueKeyWithNUL", kind: "k", opts: &conveyor.EnqueueOptions{UniqueKey: "a\x00b"}, wantErr: "unique_key"},
		// Stored in 32 bits by PostgreSQL: wider values would wrap.
		{name: "PriorityAbove32Bits", kind: "k", opts: &conveyor.EnqueueOptions{Priority: 1 << 31}, wantErr: "priority"},
		{name: "PriorityBelow32Bits", kind: "k", opts: &conveyor.EnqueueOptions{Priority: -1<<31 - 1}, wantErr: "priority"},
		{name: "MaxAttemptsAbove32Bits", kind: "k", opts: &conveyor.EnqueueOptions{MaxAttempts: 1<<32 + 1}, wantErr: "max_attempts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := setupClient(t, conveyor.ClientConfig{MaxArgsBytes: 1000})
			_, err := s.client.Enqueue(context.Background(), tt.kind, tt.args, tt.opts)
			require.ErrorIs(t, err, conveyor.ErrInvalidJob)
			require.ErrorContains(t, err, tt.wantErr)
			// Nothing was stored.
			page, err := s.client.List(context.Background(), nil)
			require.NoError(t, err)
			require.Empty(t, page.Jobs)
		})
	}
}

func TestEnqueueArgsLimitDefaultIsOneMiB(t *testing.T) {
	t.Parallel()
	s := setupClient(t, conveyor.ClientConfig{})
	big := json.RawMessage(`"` + strings.Repeat("x", conveyor.DefaultMaxArgsBytes) + `"`)
	_, err := s.client.Enqueue(context.Background(), "k", big, nil)
	require.ErrorIs(t, err, conveyor.ErrArgsTooLarge)
	fits := json.RawMessage(`"` + strings.Repeat("x", conveyor.DefaultMaxArgsBytes-2) + `"`)
	_, err = s.client.Enqueue(context.Background(), "k", fits, nil)
	require.NoError(t, err)
}

func TestEnqueueManyIsAllOrNothing(t *testing.T) {
	t.Parallel()
	s := setupClient(t, conveyor.ClientConfig{})
	ctx := context.Background()
	_, err := s.client.EnqueueMany(ctx, nil)
	require.ErrorContains(t, err, "no jobs given")

	_, err = s.client.EnqueueMany(ctx, []conveyor.EnqueueRequest{{Kind: "ok"}, {Kind: ""}})
	require.ErrorContains(t, err, "job 1:")
	page, err := s.client.List(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, page.Jobs, "one bad job must store nothing")

	res, err := s.client.EnqueueMany(ctx, []conveyor.EnqueueRequest{{Kind: "a"}, {Kind: "b", Options: &conveyor.EnqueueOptions{Queue: "q2"}}})
	require.NoError(t, err)
	require.Len(t, res, 2)
	require.NotEqual(t, res[0].ID, res[1].ID)
}

func TestEnqueueUniqueWindow(t *testing.T) {
	t.Parallel()
	s := setupClient(t, conveyor.ClientConfig{})
	ctx := context.Background()
	opts := &conveyor.EnqueueOptions{UniqueKey: "daily-report", UniqueWindow: time.Hour}

	first, err := s.client.Enqueue(ctx, "report", nil, opts)
	require.NoError(t, err)
	again, err := s.client.Enqueue(ctx, "report", nil, opts)
	require.NoError(t, err)
	require.True(t, again.Duplicate)
	require.Equal(t, first.ID, again.ID)

	s.clock.Advance(time.Hour)
	next, err := s.client.Enqueue(ctx, "report", nil, opts)
	require.NoError(t, err)
	require.False(t, next.Duplicate, "a new window releases the key")
}

func TestEnqueueTxUnsupported(t *testing.T) {
	t.Parallel()
	s := setupClient(t, conveyor.ClientConfig{})
	_, err := s.client.EnqueueTx(context.Background(), struct{}{}, []conveyor.EnqueueRequest{{Kind: "k"}})
	require.ErrorIs(t, err, conveyor.ErrUnsupportedTx)
	require.ErrorContains(t, err, "memory")
}

func TestClientJobOperations(t *testing.T) {
	t.Parallel()
	s := setupClient(t, conveyor.ClientConfig{})
	ctx := context.Background()

	_, err := s.client.Get(ctx, "missing")
	require.ErrorIs(t, err, conveyor.ErrNotFound)
	_, err = s.client.Cancel(ctx, "missing")
	require.ErrorIs(t, err, conveyor.ErrNotFound)
	_, err = s.client.Retry(ctx, "missing")
	require.ErrorIs(t, err, conveyor.ErrNotFound)
	require.ErrorIs(t, s.client.Delete(ctx, "missing"), conveyor.ErrNotFound)

	res, err := s.client.Enqueue(ctx, "k", nil, nil)
	require.NoError(t, err)
	_, err = s.client.Retry(ctx, res.ID)
	require.ErrorIs(t, err, conveyor.ErrWrongState, "a queued job cannot be retried")
	j, err := s.client.Cancel(ctx, res.ID)
	require.NoError(t, err)
	require.Equal(t, conveyor.StateCancelled, j.State)
	_, err = s.client.Cancel(ctx, res.ID)
	require.ErrorIs(t, err, conveyor.ErrWrongState)
	j, err = s.client.Retry(ctx, res.ID)
	require.NoError(t, err)
	require.Equal(t, conveyor.StateQueued, j.State)
	require.NoError(t, s.client.Delete(ctx, res.ID))
	_, err = s.client.Get(ctx, res.ID)
	require.True(t, errors.Is(err, conveyor.ErrNotFound))

	_, err = s.client.List(ctx, &conveyor.ListParams{States: []conveyor.JobState{"bogus"}})
	require.ErrorContains(t, err, `unknown state "bogus"`)
}

func TestClientQueues(t *testing.T) {
	t.Parallel()
	s := setupClient(t, conveyor.ClientConfig{})
	ctx := context.Background()
	require.ErrorIs(t, s.client.PauseQueue(ctx, ""), conveyor.ErrInvalidJob)
	require.ErrorIs(t, s.client.ResumeQueue(ctx, "a b"), conveyor.ErrInvalidJob)

	_, err := s.client.Enqueue(ctx, "k", nil, &conveyor.EnqueueOptions{Queue: "mail"})
	require.NoError(t, err)
	require.NoError(t, s.client.PauseQueue(ctx, "mail"))
	qs, err := s.client.Queues(ctx)
	require.NoError(t, err)
	require.Len(t, qs, 1)
	require.Equal(t, "mail", qs[0].Name)
	require.True(t, qs[0].Paused)
	require.EqualValues(t, 1, qs[0].Counts[conveyor.StateQueued])
	require.NoError(t, s.client.ResumeQueue(ctx, "mail"))
	qs, err = s.client.Queues(ctx)
	require.NoError(t, err)
	require.False(t, qs[0].Paused)
}
