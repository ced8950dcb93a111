package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"conveyor/backend"

	"github.com/google/uuid"
)

// Namespace is the backend record namespace holding the subscriptions,
// keyed by ID.
const Namespace = "conveyor.webhooks"

// Store keeps subscriptions in a backend's records, so every process (API,
// dispatchers, delivery workers) sees the same ones.
type Store struct {
	b backend.Records
}

// NewStore returns a store over b.
func NewStore(b backend.Records) *Store { return &Store{b: b} }

// Create validates s, gives it an ID (and a secret if it has none) and
// stores it.
func (st *Store) Create(ctx context.Context, s Subscription, now time.Time) (*Subscription, error) {
	if s.Secret == "" {
		s.Secret = NewSecret()
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	s.ID = id.String()
	if _, err := st.write(ctx, &s, 0, now); err != nil {
		return nil, err
	}
	return &s, nil
}

// Get returns one subscription, or an error wrapping backend.ErrNotFound.
func (st *Store) Get(ctx context.Context, id string) (*Subscription, error) {
	s, _, err := st.get(ctx, id)
	return s, err
}

func (st *Store) get(ctx context.Context, id string) (*Subscription, int64, error) {
	r, err := st.b.RecordGet(ctx, &backend.RecordGetParams{Namespace: Namespace, Key: id})
	if err != nil {
		return nil, 0, fmt.Errorf("webhook %q: %w", id, err)
	}
	s, err := decode(r)
	return s, r.Version, err
}

// List returns every subscription, ordered by ID (creation order).
func (st *Store) List(ctx context.Context) ([]*Subscription, error) {
	return backend.ListRecords(ctx, st.b, Namespace, decode)
}

// Update replaces the subscription of s.ID (an empty or masked Secret, and
// header values equal to Masked, keep the stored ones; enabling it again
// clears DisabledReason).
func (st *Store) Update(ctx context.Context, s Subscription, now time.Time) (*Subscription, error) {
	for {
		cur, version, err := st.get(ctx, s.ID)
		if err != nil {
			return nil, err
		}
		if s.Secret == "" || s.Secret == MaskSecret(cur.Secret) {
			s.Secret = cur.Secret
		}
		for name, v := range s.Headers {
			if v == Masked {
				s.Headers[name] = cur.Headers[name] // sent back as shown: kept
			}
		}
		if !s.Disabled {
			s.DisabledReason = ""
		}
		if err := s.Validate(); err != nil {
			return nil, err
		}
		_, err = st.write(ctx, &s, version, now)
		if errors.Is(err, backend.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &s, nil
	}
}

// Delete removes a subscription; deliveries already queued find it gone and
// end cancelled.
func (st *Store) Delete(ctx context.Context, id string) error {
	err := st.b.RecordDelete(ctx, &backend.RecordDeleteParams{Namespace: Namespace, Key: id, IfVersion: backend.AnyVersion})
	if err != nil {
		return fmt.Errorf("webhook %q: %w", id, err)
	}
	return nil
}

// disable marks a subscription disabled with a reason.
func (st *Store) disable(ctx context.Context, id, reason string, now time.Time) error {
	for {
		s, version, err := st.get(ctx, id)
		if err != nil {
			return err
		}
		s.Disabled, s.DisabledReason = true, reason
		_, err = st.write(ctx, s, version, now)
		if !errors.Is(err, backend.ErrConflict) {
			return err
		}
	}
}

func (st *Store) write(ctx context.Context, s *Subscription, ifVersion int64, now time.Time) (*backend.Record, error) {
	value, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	r, err := st.b.RecordPut(ctx, &backend.RecordPutParams{Namespace: Namespace, Key: s.ID, Value: value, IfVersion: ifVersion, Now: now})
	if err != nil {
		return nil, fmt.Errorf("webhook %q: %w", s.ID, err)
	}
	return r, nil
}

func decode(r *backend.Record) (*Subscription, error) {
	var s Subscription
	if err := json.Unmarshal(r.Value, &s); err != nil {
		return nil, fmt.Errorf("webhook %q: stored record is not a subscription: %w", r.Key, err)
	}
	return &s, nil
}
