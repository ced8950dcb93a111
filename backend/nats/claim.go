package nats

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"conveyor/backend"

	natsio "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Claim tuning. A message whose record is not claimable is dropped at once
// when the record's ready generation shows it is stale; when the record is
// missing or has a lower generation, the message may be early (the record
// write published after it has not landed yet), so it is retried after
// staleDelay and dropped after staleDeliveries deliveries (about 2 s).
const (
	staleDelay      = 20 * time.Millisecond
	staleDeliveries = 100
)

// readyMsg is one fetched ready message.
type readyMsg struct {
	msg   *natsio.Msg
	runAt int64
	id    string
	gen   int64
	// seq is the message's stream sequence (0: unknown).
	seq uint64
}

// JobClaim takes up to Limit jobs of a queue. NATS has no priorities, so
// each priority has its own subject and pull consumer, fetched highest
// first. Within a priority the claim fetches as many messages as it needs
// and orders them by run_at then ID; claiming is a compare-and-set
// of each record from queued to running with a fresh lease token, and only
// then is the message acknowledged. Fencing never rests on acks (a late ack
// may land, nats-server #4786): a message whose record is not queued is
// simply dropped.
//
// Order holds exactly across priorities, and within a priority among the
// messages one claim fetched; beyond that, one priority level is served in
// the order its jobs became ready, which is run_at order except for jobs
// enqueued with a run_at in the past. (A larger fetch window would order
// more but costs a hand-back per extra message on every claim.)
func (b *Backend) JobClaim(ctx context.Context, p *backend.JobClaimParams) (*backend.JobClaimResult, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	res := &backend.JobClaimResult{}
	if p.Limit <= 0 {
		return res, nil
	}
	q, pf, err := b.readQueueAndPrefetch(ctx, p)
	if err != nil || q == nil || q.Paused {
		return res, err
	}
	prios := slices.Clone(q.Priorities)
	slices.SortFunc(prios, func(x, y int) int { return cmp.Compare(y, x) })
	for _, prio := range prios {
		c, err := b.consumer(ctx, p.Queue, prio, false)
		if err != nil {
			b.handBack(ctx, pf.take(prio).messages())
			return res, err
		}
		if !c {
			continue
		}
		name := b.names.consumerName(p.Queue, prio)
		subj := b.names.readySubject(p.Queue, prio)
		for len(res.Jobs) < p.Limit {
			need := p.Limit - len(res.Jobs)
			msgs, err := b.fetchAvailable(ctx, name, subj, need, pf.take(prio))
			if err != nil {
				return res, err
			}
			if len(msgs) == 0 {
				break
			}
			got, err := b.claimFrom(ctx, msgs, need, p)
			res.Jobs = append(res.Jobs, got...)
			if err != nil {
				return res, err
			}
			if len(msgs) < need {
				break // the level is drained
			}
		}
		if len(res.Jobs) >= p.Limit {
			break
		}
	}
	return res, nil
}

// fetchWait bounds how long a confirming pull waits (servers >= 2.10, see
// fetchAvailable): such a pull has both no_wait and expires, so it returns
// as soon as any message is there and only waits when other claimers took
// the messages first. confirmFor bounds the confirmation rounds of one
// fetchAvailable; confirmPause spaces them on 2.9, whose pulls do not wait.
const (
	fetchWait    = 250 * time.Millisecond
	confirmFor   = 2 * time.Second
	confirmPause = 5 * time.Millisecond
)

// fetchAvailable takes up to n ready messages of a consumer. When it
// returns fewer than n, the consumer had delivered every message of its
// subject when it last looked: a pull that comes back empty is not trusted
// on its own, because servers >= 2.10 count new and handed-back messages
// asynchronously and answer "no messages" (or let a pull expire, under
// load) while acknowledged messages sit in the stream. So an empty pull is
// confirmed against the stream, whose state is synchronous with publish
// acknowledgements: if the last message of the subject lies beyond the
// consumer's delivered sequence, the pull is repeated (waiting for the
// first message) until the consumer caught up or confirmFor passed. This is
// what makes jobs enqueued before a claim claimable by it, whatever the
// server's load.
func (b *Backend) fetchAvailable(ctx context.Context, consumer, subj string, n int, first *pulled) ([]readyMsg, error) {
	out := first.messages()
	var deadline time.Time
	wait := time.Duration(0)
	got := len(out)
	// first: this claim's first pull was made already (see prefetch.go).
	for done := first != nil; len(out) < n; done = false {
		if !done {
			msgs, err := b.fetchRetry(ctx, consumer, n-len(out), wait)
			if err != nil {
				b.handBack(ctx, out)
				return nil, err
			}
			out = append(out, msgs...)
			got = len(msgs)
			if len(out) == n {
				break
			}
		}
		// The pull came back short: it took everything the consumer had
		// counted, so ask the stream at once whether more is there
		// rather than pulling again.
		var more bool
		var err error
		switch {
		case got > 0 && first != nil && first.haveLast:
			// The last sequence read while pulling covers every
			// message enqueued before the claim began: were they all
			// delivered (to this pull or earlier ones)?
			more = first.last > maxSeq(out)
			first.haveLast = false // a later round reads afresh
		case got > 0:
			more, err = b.beyond(ctx, subj, maxSeq(out))
		default:
			more, err = b.undelivered(ctx, consumer, subj)
		}
		if err != nil {
			b.handBack(ctx, out)
			return nil, err
		}
		if !more {
			break
		}
		now := time.Now()
		if deadline.IsZero() {
			deadline = now.Add(confirmFor)
		} else if now.After(deadline) {
			break
		}
		if got > 0 {
			// Messages arrived after the pull: pull again at once.
			wait = 0
			continue
		}
		wait = b.fetchWait
		if wait == 0 {
			select {
			case <-time.After(confirmPause):
			case <-ctx.Done():
				b.handBack(ctx, out)
				return nil, ctx.Err()
			}
		}
	}
	return out, nil
}

// undelivered reports whether the ready stream holds a message of subj that
// the consumer has not delivered yet: the subject's last message (a
// synchronous read of the stream) lies beyond the consumer's delivered
// stream sequence. Messages delivered and not yet acknowledged belong to
// some claimer, which uses or hands them back; they do not count.
func (b *Backend) undelivered(ctx context.Context, consumer, subj string) (bool, error) {
	var (
		info       *jetstream.ConsumerInfo
		last       uint64
		ierr, lerr error
		wg         sync.WaitGroup
	)
	wg.Go(func() {
		c, err := b.ready.Consumer(ctx, consumer)
		if err == nil {
			info = c.CachedInfo()
		}
		ierr = err
	})
	wg.Go(func() { last, lerr = b.lastSeq(ctx, subj) })
	wg.Wait()
	if errors.Is(ierr, jetstream.ErrConsumerNotFound) {
		// No consumer to deliver it (deleted under us): nothing this
		// claim can wait for.
		return false, nil
	}
	if err := cmp.Or(ierr, lerr); err != nil {
		return false, b.wrap("ready state "+consumer, err)
	}
	// last is 0 when nothing is on the subject.
	return last > info.Delivered.Stream, nil
}

// beyond reports whether the ready stream holds a message of subj after
// stream sequence seq, the last one a pull just delivered. The consumer
// delivers in stream order (redeliveries aside, which the pull's caller
// would not wait for either), so this is undelivered's question answered
// with one cheap read instead of two: no consumer info is needed.
func (b *Backend) beyond(ctx context.Context, subj string, seq uint64) (bool, error) {
	if seq == 0 {
		return true, nil // unknown: let the caller pull again
	}
	last, err := b.lastSeq(ctx, subj)
	if err != nil {
		return false, b.wrap("ready state "+subj, err)
	}
	return last > seq, nil
}

// maxSeq is the highest stream sequence among msgs (0 if any is unknown).
func maxSeq(msgs []readyMsg) uint64 {
	var m uint64
	for _, r := range msgs {
		if r.seq == 0 {
			return 0
		}
		m = max(m, r.seq)
	}
	return m
}

// errBusy reports a pull refused because other pulls were waiting.
var errBusy = errors.New("pull requests pending")

// busyRetries and busyPause bound the retries of a refused pull.
const (
	busyRetries = 10
	busyPause   = 5 * time.Millisecond
)

// fetchRetry is fetch, retried a few times while other pulls are pending.
func (b *Backend) fetchRetry(ctx context.Context, consumer string, n int, wait time.Duration) ([]readyMsg, error) {
	msgs, err := b.fetch(ctx, consumer, n, wait)
	for try := 0; errors.Is(err, errBusy) && try < busyRetries; try++ {
		select {
		case <-time.After(busyPause):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		msgs, err = b.fetch(ctx, consumer, n, wait)
	}
	if errors.Is(err, errBusy) {
		return nil, nil
	}
	return msgs, err
}

// fetch takes up to n ready messages of a consumer. It speaks the pull
// protocol directly because the client library has no way to send no_wait
// together with expires.
func (b *Backend) fetch(ctx context.Context, consumer string, n int, wait time.Duration) ([]readyMsg, error) {
	inbox := b.nc.NewInbox()
	ch := make(chan *natsio.Msg, n+4)
	sub, err := b.nc.ChanSubscribe(inbox, ch)
	if err != nil {
		return nil, b.wrap("fetch", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	req := fmt.Appendf(nil, `{"batch":%d,"no_wait":true}`, n)
	if wait > 0 {
		req = fmt.Appendf(nil, `{"batch":%d,"no_wait":true,"expires":%d}`, n, wait.Nanoseconds())
	}
	subj := "$JS.API.CONSUMER.MSG.NEXT." + b.names.readyStream() + "." + consumer
	if err := b.nc.PublishRequest(subj, inbox, req); err != nil {
		return nil, b.wrap("fetch", err)
	}
	timeout := time.NewTimer(wait + 5*time.Second)
	defer timeout.Stop()
	var out []readyMsg
	for len(out) < n {
		select {
		case m := <-ch:
			if len(m.Data) == 0 && m.Header.Get("Status") != "" {
				switch m.Header.Get("Status") {
				case "100": // heartbeat
					continue
				case "408":
					if len(out) == 0 && m.Header.Get("Description") == "Requests Pending" {
						// Other claimers' pull requests are ahead of
						// this one: not a sign of an empty queue.
						return nil, errBusy
					}
					return out, nil // expired
				case "404", "409":
					return out, nil // no messages, or over a limit
				}
				return out, b.wrap("fetch", fmt.Errorf("status %s %s", m.Header.Get("Status"), m.Header.Get("Description")))
			}
			if m.Reply == "" {
				return out, b.wrap("fetch", fmt.Errorf("unexpected reply: %s", m.Data))
			}
			ms, id, gen, ok := parseReadyPayload(m.Data)
			if !ok {
				_ = m.Ack() // not ours: drop
				continue
			}
			rm := readyMsg{msg: m, runAt: ms, id: id, gen: gen}
			if md, err := m.Metadata(); err == nil {
				rm.seq = md.Sequence.Stream
			}
			out = append(out, rm)
		case <-timeout.C:
			return out, nil
		case <-ctx.Done():
			// Messages received so far come back after AckWait.
			return nil, ctx.Err()
		}
	}
	return out, nil
}

// claimFrom claims up to need jobs from fetched messages in (run_at, ID)
// order and hands back the messages it did not use.
func (b *Backend) claimFrom(ctx context.Context, msgs []readyMsg, need int, p *backend.JobClaimParams) ([]*backend.Job, error) {
	slices.SortFunc(msgs, func(x, y readyMsg) int { return cmp.Or(cmp.Compare(x.runAt, y.runAt), cmp.Compare(x.id, y.id)) })
	var out []*backend.Job
	next := 0
	expires := p.Now.Add(p.LeaseDuration)
	apply := func(j *backend.Job) error {
		if j.State != backend.StateQueued {
			return errSkip
		}
		j.State = backend.StateRunning
		j.Attempt++
		j.StartedAt = p.Now
		j.LeaseOwner = p.Owner
		j.LeaseToken = rand.Text()
		j.LeaseExpiresAt = expires
		return nil
	}
	var err error
	for len(out) < need && next < len(msgs) && err == nil {
		take := msgs[next:min(len(msgs), next+need-len(out))]
		next += len(take)
		steps := make([]*step, 0, len(take))
		inBatch := map[string]bool{}
		var dups []readyMsg
		var used []readyMsg
		for _, m := range take {
			if inBatch[m.id] {
				dups = append(dups, m)
				continue
			}
			inBatch[m.id] = true
			steps = append(steps, &step{id: m.id, apply: apply, seed: carried(m.msg, m.id, m.gen)})
			used = append(used, m)
		}
		err = b.transition(ctx, steps)
		for i, s := range steps {
			switch {
			case s.done && s.err == nil:
				out = append(out, s.job)
				_ = used[i].msg.Ack()
			case s.done && s.old != nil && s.oldGen >= used[i].gen:
				// Stale: the record reached (or passed) the transition
				// this message announced, and is not claimable.
				_ = used[i].msg.Ack()
			case s.done && s.old == nil && deletedBefore(used[i].msg, s.deletedAt):
				// The record was deleted after this message was stored:
				// the message announced the deleted record, not an
				// early write, so it is dropped now rather than
				// retried for about 2 s.
				_ = used[i].msg.Ack()
			case s.done:
				dropOrRetry(used[i].msg)
			default:
				// Unresolved (store error): redelivered after AckWait.
			}
		}
		for _, m := range dups {
			dropOrRetry(m.msg)
		}
	}
	b.handBack(ctx, msgs[next:])
	return out, err
}

// handBack returns unused messages to the consumer and waits until the
// server processed each return (a nak sent as a request is answered after
// it took effect), so the next fetch, from any claimer, sees them again.
// Fire-and-forget naks are processed asynchronously by recent servers and
// a claimer could find the queue empty while they are in flight.
func (b *Backend) handBack(ctx context.Context, msgs []readyMsg) {
	if len(msgs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, m := range msgs {
		wg.Go(func() {
			if _, err := b.nc.RequestWithContext(ctx, m.msg.Reply, []byte("-NAK")); err != nil {
				_ = m.msg.Nak()
			}
		})
	}
	wg.Wait()
}

// deletedBefore reports whether a ready message was stored before its
// record's delete marker (deletedAt zero: no marker seen). Job IDs are
// client-assigned, so a record deleted and then enqueued again under the
// same ID has a marker older than its new ready message, which may still
// be early: that one is retried like any message whose record is missing.
// Both times are stream times set by the server(s); in a cluster the two
// streams' leaders may differ by their clock skew.
func deletedBefore(m *natsio.Msg, deletedAt time.Time) bool {
	if deletedAt.IsZero() {
		return false
	}
	md, err := m.Metadata()
	return err == nil && md.Timestamp.Before(deletedAt)
}

// dropOrRetry handles a message whose record is not claimable: retried a
// little later in case its record write is still in flight, dropped after
// staleDeliveries deliveries.
func dropOrRetry(m *natsio.Msg) {
	md, err := m.Metadata()
	if err != nil || md.NumDelivered >= staleDeliveries {
		_ = m.Ack()
		return
	}
	_ = m.NakWithDelay(staleDelay)
}
