package events

import (
	"context"
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
	for _, h := range hs {
		h(ctx, ev)
	}
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
