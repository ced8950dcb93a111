package nats

import (
	"context"
	"slices"
	"sync"

	"conveyor/backend"
)

// A claim needs the queue's record (paused flag, priorities) before it knows
// which consumer to pull from: two round trips in a row, on the path of
// every job's enqueue -> start latency. So a claim pulls from the queue's
// top priority as the last claim of this process saw it WHILE it reads the
// record. When the record confirms the guess (not paused, same top
// priority: the usual case), the pulled messages are the claim's first
// fetch; otherwise they are handed back and the claim goes on as if no
// guess had been made. Order and pause are exactly as without the guess.

// topPrio remembers, per queue, the highest priority of the queue record the
// last claim of this process read.
type topPrio struct {
	m sync.Map // queue -> int
}

func (t *topPrio) load(queue string) (int, bool) {
	v, ok := t.m.Load(queue)
	if !ok {
		return 0, false
	}
	return v.(int), true
}

func (t *topPrio) store(queue string, q *queueRec) {
	// Nothing is remembered for a paused queue: its claims would pull
	// only to hand everything back.
	if q == nil || q.Paused || len(q.Priorities) == 0 {
		t.forget(queue)
		return
	}
	t.m.Store(queue, slices.Max(q.Priorities))
}

// forget drops what is remembered for queue.
func (t *topPrio) forget(queue string) { t.m.Delete(queue) }

// prefetch is the outcome of the guessed first pull, and of a read of the
// subject's last sequence made at the same time: when that pull comes
// back short, the read answers whether anything it missed was there when
// the claim began (see fetchAvailable), with no round trip after the pull.
type prefetch struct {
	prio int
	msgs []readyMsg
	err  error
	used bool

	last    uint64 // the subject's last sequence, read while pulling
	lastErr error
}

// readQueueAndPrefetch reads the queue record and, when a top priority is
// remembered for the queue and its consumer is known to exist, pulls up to
// n messages from it at the same time. The returned prefetch is nil when no
// guess was made or the record did not confirm it (its messages were then
// handed back).
func (b *Backend) readQueueAndPrefetch(ctx context.Context, p *backend.JobClaimParams) (*queueRec, *prefetch, error) {
	prio, ok := b.top.load(p.Queue)
	if ok {
		if _, known := b.consumers.Load(b.names.consumerName(p.Queue, prio)); !known {
			ok = false
		}
	}
	if !ok {
		q, _, err := b.getQueue(ctx, p.Queue)
		b.top.store(p.Queue, q)
		return q, nil, err
	}
	pf := &prefetch{prio: prio}
	var wg sync.WaitGroup
	wg.Go(func() {
		pf.msgs, pf.err = b.fetchRetry(ctx, b.names.consumerName(p.Queue, prio), p.Limit, 0)
	})
	wg.Go(func() {
		pf.last, pf.lastErr = b.lastSeq(ctx, b.names.readySubject(p.Queue, prio))
	})
	q, _, err := b.getQueue(ctx, p.Queue)
	wg.Wait()
	b.top.store(p.Queue, q)
	if pf.err != nil {
		// No guess: the claim's own pull meets (and reports) a lasting
		// failure.
		pf = nil
	}
	if pf != nil && (err != nil || !confirms(q, prio)) {
		b.handBack(ctx, pf.msgs)
		pf = nil
	}
	if err != nil {
		return q, nil, err
	}
	return q, pf, nil
}

// confirms reports whether a claim may use what it pulled from priority
// prio: the queue exists, is not paused and prio is its highest priority.
func confirms(q *queueRec, prio int) bool {
	return q != nil && !q.Paused && len(q.Priorities) > 0 && slices.Max(q.Priorities) == prio
}

// pulled is a claim's first pull of one priority, made already.
type pulled struct {
	msgs []readyMsg
	// last is the subject's last sequence read while pulling (haveLast
	// false: not read).
	last     uint64
	haveLast bool
}

// take returns the first pull of priority prio, once (nil if none was
// made: a nil prefetch made none).
func (pf *prefetch) take(prio int) *pulled {
	if pf == nil || pf.used || pf.prio != prio {
		return nil
	}
	pf.used = true
	return &pulled{msgs: pf.msgs, last: pf.last, haveLast: pf.lastErr == nil}
}

// messages are the pulled messages (none for a nil pull).
func (p *pulled) messages() []readyMsg {
	if p == nil {
		return nil
	}
	return p.msgs
}
