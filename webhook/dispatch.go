package webhook

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"conveyor"
	"conveyor/backend"
	"conveyor/events"
)

// DispatcherConfig configures a Dispatcher. The zero value is valid.
type DispatcherConfig struct {
	// Queue receives the delivery jobs. Default "default".
	Queue string
	// MaxAttempts of each delivery job. Default 25 (about 3 days of
	// exponential backoff).
	MaxAttempts int
	// Refresh is how long the list of subscriptions is reused before it is
	// read again, so changes apply within it. Default 1 s.
	Refresh time.Duration
	// Logger receives enqueue failures. Default slog.Default().
	Logger *slog.Logger
}

// Dispatcher turns events into delivery jobs: one per (event, matching
// enabled subscription), enqueued while the event is published, with the
// unique key "webhook:SUBSCRIPTION:EVENT_ID" so a republished event is not
// delivered twice. Deliveries are then ordinary jobs: they survive
// restarts and run on any worker that registered Kind.
type Dispatcher struct {
	client *conveyor.Client
	store  *Store
	cfg    DispatcherConfig

	mu      sync.Mutex
	subs    []*Subscription
	fetched time.Time
}

// NewDispatcher returns a dispatcher enqueuing through client, reading the
// subscriptions of client's backend.
func NewDispatcher(client *conveyor.Client, cfg DispatcherConfig) *Dispatcher {
	if cfg.Refresh <= 0 {
		cfg.Refresh = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Dispatcher{client: client, store: NewStore(client.Backend()), cfg: cfg}
}

// Attach subscribes the dispatcher to every event of bus.
func (d *Dispatcher) Attach(bus events.Bus) (cancel func(), err error) {
	return bus.Subscribe("**", func(ctx context.Context, ev *events.Event) {
		if _, err := d.Dispatch(ctx, ev); err != nil {
			d.cfg.Logger.Error("webhook: enqueueing deliveries failed", "event", ev.ID, "type", ev.Type, "err", err)
		}
	})
}

// Dispatch enqueues the deliveries of ev and returns their results.
func (d *Dispatcher) Dispatch(ctx context.Context, ev *events.Event) ([]conveyor.EnqueueResult, error) {
	if ev.Type == "" || isDeliveryEvent(ev) {
		return nil, nil
	}
	subs, err := d.subscriptions(ctx)
	if err != nil {
		return nil, err
	}
	var reqs []conveyor.EnqueueRequest
	for _, s := range subs {
		if s.Disabled || !s.matches(ev) {
			continue
		}
		reqs = append(reqs, conveyor.EnqueueRequest{
			Kind: Kind,
			Args: DeliveryArgs{SubscriptionID: s.ID, Event: ev},
			Options: &conveyor.EnqueueOptions{
				Queue:        d.cfg.Queue,
				MaxAttempts:  d.cfg.MaxAttempts,
				UniqueKey:    "webhook:" + s.ID + ":" + ev.ID,
				UniqueStates: backend.AllStates,
				Tags:         []string{"webhook:" + s.ID},
			},
		})
	}
	if len(reqs) == 0 {
		return nil, nil
	}
	return d.client.EnqueueMany(ctx, reqs)
}

// isDeliveryEvent reports the lifecycle events of delivery jobs
// themselves: a subscription to conveyor.job.* must not get a delivery
// about each of its own deliveries, for ever.
func isDeliveryEvent(ev *events.Event) bool {
	if ev.Source != events.JobEventSource {
		return false
	}
	var job struct{ Kind string }
	return json.Unmarshal(ev.Data, &job) == nil && job.Kind == Kind
}

func (d *Dispatcher) subscriptions(ctx context.Context) ([]*Subscription, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.subs != nil && time.Since(d.fetched) < d.cfg.Refresh {
		return d.subs, nil
	}
	subs, err := d.store.List(ctx)
	if err != nil {
		return nil, err
	}
	d.subs, d.fetched = subs, time.Now()
	return subs, nil
}
