package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"conveyor/backend"
)

// Remote is a Bus over a backend's Broadcaster: events published in any
// process on the same store reach the subscribers of every process (best
// effort: at most once, lost while a listener reconnects). An event too
// large for the backend is sent without its data, marked with the
// extension attribute "datatruncated".
type Remote struct {
	br  backend.Broadcaster
	bus *Memory // local fan-out of what the listener receives

	mu      sync.Mutex
	started bool
	stop    context.CancelFunc
}

// NewRemote returns a bus over br. Close stops its listener.
func NewRemote(br backend.Broadcaster) *Remote { return &Remote{br: br, bus: NewMemory()} }

// wireEvent is an Event with the truncation marker.
type wireEvent struct {
	Event
	DataTruncated bool `json:"datatruncated,omitempty"`
}

// Publish implements Bus: it broadcasts ev to every process's subscribers
// (this one's included, once the message comes back).
func (r *Remote) Publish(ctx context.Context, ev *Event) error {
	if err := ev.Validate(); err != nil {
		return err
	}
	msg, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	err = r.br.Broadcast(ctx, msg)
	if errors.Is(err, backend.ErrTooLarge) {
		cut := wireEvent{Event: *ev, DataTruncated: true}
		cut.Data, cut.DataContentType = nil, ""
		if msg, err = json.Marshal(cut); err == nil {
			err = r.br.Broadcast(ctx, msg)
		}
	}
	return err
}

// Subscribe implements Bus; the first subscription starts the listener.
func (r *Remote) Subscribe(pattern string, h Handler) (func(), error) {
	cancel, err := r.bus.Subscribe(pattern, h)
	if err != nil {
		return nil, err
	}
	if err := r.start(); err != nil {
		cancel()
		return nil, err
	}
	return cancel, nil
}

func (r *Remote) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return nil
	}
	ctx, stop := context.WithCancel(context.Background())
	c, err := r.br.Listen(ctx)
	if err != nil {
		stop()
		return err
	}
	r.started, r.stop = true, stop
	go func() {
		for msg := range c {
			var ev Event
			if json.Unmarshal(msg, &ev) != nil || ev.Validate() != nil {
				continue // not an event of ours
			}
			_ = r.bus.Publish(ctx, &ev)
		}
	}()
	return nil
}

// Close stops the listener.
func (r *Remote) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stop != nil {
		r.stop()
	}
}

// Forward publishes every event of from on to (e.g. a process's local bus
// on a Remote one, so other processes see its events), from a goroutine of
// its own so publishers on from never wait for to: up to
// backend.BroadcastBuffer events wait, newer ones are dropped (counted in
// onErr's errors). Errors go to onErr. cancel stops forwarding.
func Forward(from, to Bus, onErr func(error)) (cancel func(), err error) {
	q := make(chan *Event, backend.BroadcastBuffer)
	ctx, stop := context.WithCancel(context.Background())
	unsub, err := from.Subscribe("**", func(_ context.Context, ev *Event) {
		select {
		case q <- ev:
		default:
			if onErr != nil {
				onErr(fmt.Errorf("events: forward queue full, event %s (%s) dropped", ev.ID, ev.Type))
			}
		}
	})
	if err != nil {
		stop()
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-q:
				if err := to.Publish(ctx, ev); err != nil && onErr != nil && ctx.Err() == nil {
					onErr(err)
				}
			}
		}
	}()
	return func() {
		unsub()
		stop()
		<-done
	}, nil
}
