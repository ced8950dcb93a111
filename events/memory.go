package events

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Memory is the in-process Bus: Publish calls the matching subscribers'
// handlers in turn, in subscription order. Safe for concurrent use.
type Memory struct {
	mu   sync.RWMutex
	subs []*subscription
}

type subscription struct {
	pattern string
	h       Handler
}

// NewMemory returns an empty in-process bus.
func NewMemory() *Memory { return &Memory{} }

// Publish implements Bus.
func (m *Memory) Publish(ctx context.Context, ev *Event) error {
	if err := ev.Validate(); err != nil {
		return err
	}
	m.mu.RLock()
	var hs []Handler
	for _, s := range m.subs {
		if Match(s.pattern, ev.Type) {
			hs = append(hs, s.h)
		}
	}
	m.mu.RUnlock()
	var panicked error
	for _, h := range hs {
		if err := call(ctx, h, ev); err != nil && panicked == nil {
			panicked = err
		}
	}
	return panicked
}

// call runs one handler, turning a panic into an error so one bad
// subscriber neither kills the publisher (a worker) nor starves the others.
func call(ctx context.Context, h Handler, ev *Event) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("events: a subscriber panicked on %s: %v", ev.Type, v)
		}
	}()
	h(ctx, ev)
	return nil
}

// Subscribe implements Bus.
func (m *Memory) Subscribe(pattern string, h Handler) (func(), error) {
	if err := ValidPattern(pattern); err != nil {
		return nil, err
	}
	s := &subscription{pattern: pattern, h: h}
	m.mu.Lock()
	m.subs = append(m.subs, s)
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		m.subs = slices.DeleteFunc(m.subs, func(x *subscription) bool { return x == s })
		m.mu.Unlock()
	}, nil
}
