package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
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
	if s.PreviousSecret != "" || !s.PreviousSecretExpiresAt.IsZero() {
		return nil, fmt.Errorf("%w: previous_secret and previous_secret_expires_at are set by rotating the secret, not on create", ErrInvalid)
	}
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
// clears DisabledReason). The previous secret of a rotation is kept as
// stored: s may leave PreviousSecret and PreviousSecretExpiresAt empty or
// send them back as shown (masked), but not set them (only RotateSecret
// does); a previous secret whose grace period is over at now is dropped.
func (st *Store) Update(ctx context.Context, s Subscription, now time.Time) (*Subscription, error) {
	v, err := st.UpdateIf(ctx, s, backend.AnyVersion, now)
	if err != nil {
		return nil, err
	}
	return v.Subscription, nil
}

// UpdateIf is Update on the condition that the subscription's record is at
// version ifVersion (backend.AnyVersion: at any version), for HTTP's
// If-Match. The version is compared by the backend's compare-and-set
// write, so an edit made in between is never overwritten. Errors wrap
// backend.ErrNotFound when there is no such subscription and
// backend.ErrConflict (naming the current version) when the version
// differs. The answer carries the new version.
func (st *Store) UpdateIf(ctx context.Context, in Subscription, ifVersion int64, now time.Time) (*Versioned, error) {
	for {
		// Each pass starts again from the request as sent: the one before
		// replaced its "keep the stored one" markers (empty or masked
		// secret, masked headers) with the values it read, which a write
		// that lost the race must not apply over a newer record (say, a
		// rotated secret).
		s := in
		s.Headers = maps.Clone(in.Headers)
		cur, version, err := st.get(ctx, s.ID)
		if err != nil {
			return nil, err
		}
		if ifVersion != backend.AnyVersion && version != ifVersion {
			return nil, staleVersion(s.ID, version, ifVersion)
		}
		if s.Secret == "" || s.Secret == MaskSecret(cur.Secret) {
			s.Secret = cur.Secret
		}
		if err := keepPrevious(&s, cur, now); err != nil {
			return nil, err
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
		r, err := st.write(ctx, &s, version, now)
		if errors.Is(err, backend.ErrConflict) {
			// Changed between the read and the write: read again, which
			// reports the new version (or, for AnyVersion, applies over it).
			continue
		}
		if err != nil {
			return nil, err
		}
		return &Versioned{Subscription: &s, Version: r.Version}, nil
	}
}

// MaxRotationGrace bounds RotateSecret's grace period: an old secret that
// stays valid longer is no longer being rotated out.
const MaxRotationGrace = 30 * 24 * time.Hour

// RotateSecret gives subscription id a new secret (NewSecret) and keeps the
// current one as PreviousSecret until now+grace, so deliveries carry both
// signatures while receivers switch over. A grace of 0 drops the old secret
// at once. Only one previous secret is kept: rotating again during a grace
// period replaces the previous secret with the current one (the oldest
// stops signing at once). The answer holds the new secret in clear, to be
// shown once, as on create, with the record's new version. A concurrent
// change of the subscription is not lost: the write is checked against the
// record's version and redone on the fresh record when it moved.
func (st *Store) RotateSecret(ctx context.Context, id string, grace time.Duration, now time.Time) (*Versioned, error) {
	return st.RotateSecretIf(ctx, id, backend.AnyVersion, grace, now)
}

// RotateSecretIf is RotateSecret on the condition that the subscription's
// record is at version ifVersion (backend.AnyVersion: any), for HTTP's
// If-Match; errors as UpdateIf's.
func (st *Store) RotateSecretIf(ctx context.Context, id string, ifVersion int64, grace time.Duration, now time.Time) (*Versioned, error) {
	if grace < 0 || grace > MaxRotationGrace {
		return nil, fmt.Errorf("%w: grace period %s is out of range (0 to %s)", ErrInvalid, grace, MaxRotationGrace)
	}
	for {
		s, version, err := st.get(ctx, id)
		if err != nil {
			return nil, err
		}
		if ifVersion != backend.AnyVersion && version != ifVersion {
			return nil, staleVersion(id, version, ifVersion)
		}
		s.PreviousSecret, s.PreviousSecretExpiresAt = "", time.Time{}
		if grace > 0 {
			s.PreviousSecret, s.PreviousSecretExpiresAt = s.Secret, now.Add(grace).UTC()
		}
		s.Secret = NewSecret()
		r, err := st.write(ctx, s, version, now)
		if errors.Is(err, backend.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &Versioned{Subscription: s, Version: r.Version}, nil
	}
}

// keepPrevious puts cur's previous secret into s, which may only name it as
// shown (or in clear), and drops it if it expired by now.
func keepPrevious(s, cur *Subscription, now time.Time) error {
	if p := s.PreviousSecret; p != "" && p != cur.PreviousSecret && (cur.PreviousSecret == "" || p != MaskSecret(cur.PreviousSecret)) {
		return fmt.Errorf("%w: previous_secret is set by rotating the secret; omit it or send it back as shown", ErrInvalid)
	}
	if t := s.PreviousSecretExpiresAt; !t.IsZero() && !t.Equal(cur.PreviousSecretExpiresAt) {
		return fmt.Errorf("%w: previous_secret_expires_at is set by rotating the secret; omit it or send it back as shown", ErrInvalid)
	}
	s.PreviousSecret, s.PreviousSecretExpiresAt = cur.PreviousSecret, cur.PreviousSecretExpiresAt
	if !cur.previousValid(now) {
		s.PreviousSecret, s.PreviousSecretExpiresAt = "", time.Time{}
	}
	return nil
}

// Delete removes a subscription; deliveries already queued find it gone and
// end cancelled.
func (st *Store) Delete(ctx context.Context, id string) error {
	return st.DeleteIf(ctx, id, backend.AnyVersion)
}

// DeleteIf removes a subscription if its record is at version ifVersion
// (backend.AnyVersion: at any version), in one compare-and-set delete.
// Errors wrap backend.ErrNotFound when there is no such subscription and
// backend.ErrConflict (naming the current version) when the version
// differs.
func (st *Store) DeleteIf(ctx context.Context, id string, ifVersion int64) error {
	err := st.b.RecordDelete(ctx, &backend.RecordDeleteParams{Namespace: Namespace, Key: id, IfVersion: ifVersion})
	if errors.Is(err, backend.ErrConflict) {
		// Read only to say which version it is at; nothing was deleted.
		_, version, gerr := st.get(ctx, id)
		if gerr != nil {
			return gerr
		}
		return staleVersion(id, version, ifVersion)
	}
	if err != nil {
		return fmt.Errorf("webhook %q: %w", id, err)
	}
	return nil
}

// Versioned is a subscription with the version of its record: what
// UpdateIf and DeleteIf compare (the API's ETag).
type Versioned struct {
	Subscription *Subscription
	Version      int64
}

// GetVersioned is Get with the record's version.
func (st *Store) GetVersioned(ctx context.Context, id string) (*Versioned, error) {
	s, version, err := st.get(ctx, id)
	if err != nil {
		return nil, err
	}
	return &Versioned{Subscription: s, Version: version}, nil
}

// ListVersioned is List with each record's version.
func (st *Store) ListVersioned(ctx context.Context) ([]*Versioned, error) {
	return backend.ListRecords(ctx, st.b, Namespace, func(r *backend.Record) (*Versioned, error) {
		s, err := decode(r)
		if err != nil {
			return nil, err
		}
		return &Versioned{Subscription: s, Version: r.Version}, nil
	})
}

// staleVersion is the error of a conditional write that found the record
// at another version than the caller's.
func staleVersion(id string, current, want int64) error {
	return fmt.Errorf("webhook %q is at version %d, not %d: %w", id, current, want, backend.ErrConflict)
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
