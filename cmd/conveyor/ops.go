package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"conveyor"
	"conveyor/backend"
	_ "conveyor/backend/all" // every backend URL scheme
	"conveyor/schedule"
	"conveyor/server"
)

// ops is what the job and queue commands do, either directly on a backend
// or through a server's API. Both speak the API's views, so --json output is
// the same whichever way a command went.
type ops interface {
	Enqueue(ctx context.Context, body []byte) (*server.EnqueueView, error)
	Get(ctx context.Context, id string) (*server.JobView, error)
	List(ctx context.Context, query string) (*server.JobListView, error)
	Cancel(ctx context.Context, id string) (*server.JobView, error)
	Retry(ctx context.Context, id string) (*server.JobView, error)
	Delete(ctx context.Context, id string) error
	Queues(ctx context.Context) (*server.QueueListView, error)
	Pause(ctx context.Context, queue string) error
	Resume(ctx context.Context, queue string) error
	Schedules(ctx context.Context) (*server.ScheduleListView, error)
	// PutSchedule adds or replaces the schedule of body (schedule.Decode's JSON).
	PutSchedule(ctx context.Context, name string, body []byte) (*schedule.Entry, error)
	DeleteSchedule(ctx context.Context, name string) error
	// TriggerSchedule enqueues one job of the schedule now; with a key, at
	// most one per key (schedule.TriggerOnce).
	TriggerSchedule(ctx context.Context, name, idempotencyKey string) (*server.EnqueueView, error)
	Close() error
}

// openTimeout bounds opening and pinging a backend, so an unreachable one
// fails in seconds with one line rather than hanging.
const openTimeout = 10 * time.Second

// openBackend opens the backend URL and checks it answers. Failures exit 5
// with one line naming the URL (password redacted) and the reason. With
// mustExist, a SQLite file that does not exist yet is an error rather than
// silently created (commands that only read or change existing jobs).
func openBackend(ctx context.Context, rawURL string, mustExist bool) (backend.Backend, error) {
	if redacted, reason, bad := unparsableWithUserinfo(rawURL); bad {
		return nil, withCode(exitUnavailable, fmt.Errorf("backend %s: URL does not parse: %w", redacted, reason))
	}
	if mustExist {
		if err := backend.CheckExists(rawURL); err != nil {
			hint := ""
			if errors.Is(err, backend.ErrNoStore) {
				hint = " (start `conveyor dev`, or run `conveyor migrate`, or pass --backend)"
			}
			return nil, withCode(exitUnavailable, fmt.Errorf("backend %s: %w%s", backend.Redact(rawURL), err, hint))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	b, err := backend.Open(ctx, rawURL)
	if err != nil {
		return nil, withCode(exitUnavailable, err) // backend.Open names the URL, redacted
	}
	if err := b.Ping(ctx); err != nil {
		_ = b.Close()
		return nil, withCode(exitUnavailable, fmt.Errorf("backend %s: not reachable: %w", backend.Redact(rawURL), err))
	}
	return b, nil
}

// unparsableWithUserinfo reports a URL that url.Parse refuses although it
// has userinfo (user:password@) before its host. backend.Redact cannot
// redact such a URL and parse errors quote it whole, so the CLI must not
// pass it on: it returns the URL with the userinfo hidden by hand and the
// parse error's reason alone.
func unparsableWithUserinfo(rawURL string) (redacted string, reason error, bad bool) {
	_, err := url.Parse(rawURL)
	if err == nil {
		return "", nil, false
	}
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return "", nil, false
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return "", nil, false
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return scheme + "://xxxxx@" + rest[at+1:], err, true
}

// openOps returns the ops of the command line: through --server if given,
// else directly on the backend.
func (g *globals) openOps(ctx context.Context, mustExist bool) (ops, error) {
	srv, err := g.resolveServer()
	if err != nil {
		return nil, err
	}
	if srv != "" {
		return newHTTPOps(srv, os.Getenv(envToken))
	}
	b, err := openBackend(ctx, g.resolveBackend(), mustExist)
	if err != nil {
		return nil, err
	}
	c, err := conveyor.NewClient(b, conveyor.ClientConfig{})
	if err != nil {
		_ = b.Close()
		return nil, err
	}
	return &directOps{b: b, c: c}, nil
}

// withOps runs fn on the ops of the command line and closes them.
func (g *globals) withOps(ctx context.Context, mustExist bool, fn func(ops) error) error {
	o, err := g.openOps(ctx, mustExist)
	if err != nil {
		return err
	}
	defer o.Close()
	return fn(o)
}

// directOps works on the backend through a conveyor.Client.
type directOps struct {
	b backend.Backend
	c *conveyor.Client
}

func (d *directOps) Close() error { return d.b.Close() }

func (d *directOps) Enqueue(ctx context.Context, body []byte) (*server.EnqueueView, error) {
	reqs, _, err := server.DecodeEnqueue(body)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	res, err := d.c.EnqueueMany(ctx, reqs)
	if err != nil {
		return nil, err
	}
	return &server.EnqueueView{ID: res[0].ID, Duplicate: res[0].Duplicate, State: res[0].State}, nil
}

func (d *directOps) Get(ctx context.Context, id string) (*server.JobView, error) {
	j, err := d.c.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return server.NewJobView(j, time.Now()), nil
}

func (d *directOps) List(ctx context.Context, query string) (*server.JobListView, error) {
	q, err := parseQuery(query)
	if err != nil {
		return nil, err
	}
	p, err := server.ParseListQuery(q)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	res, err := d.c.List(ctx, p)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := &server.JobListView{Jobs: make([]*server.JobView, len(res.Jobs)), NextCursor: res.NextCursor}
	for i, j := range res.Jobs {
		out.Jobs[i] = server.NewJobView(j, now)
	}
	return out, nil
}

func (d *directOps) Cancel(ctx context.Context, id string) (*server.JobView, error) {
	j, err := d.c.Cancel(ctx, id)
	if err != nil {
		return nil, err
	}
	return server.NewJobView(j, time.Now()), nil
}

func (d *directOps) Retry(ctx context.Context, id string) (*server.JobView, error) {
	j, err := d.c.Retry(ctx, id)
	if err != nil {
		return nil, err
	}
	return server.NewJobView(j, time.Now()), nil
}

func (d *directOps) Delete(ctx context.Context, id string) error { return d.c.Delete(ctx, id) }

func (d *directOps) Queues(ctx context.Context) (*server.QueueListView, error) {
	qs, err := d.c.Queues(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := &server.QueueListView{Queues: make([]server.QueueView, len(qs))}
	for i := range qs {
		out.Queues[i] = server.NewQueueView(&qs[i], now)
	}
	return out, nil
}

func (d *directOps) Pause(ctx context.Context, queue string) error { return d.c.PauseQueue(ctx, queue) }
func (d *directOps) Resume(ctx context.Context, queue string) error {
	return d.c.ResumeQueue(ctx, queue)
}

func (d *directOps) Schedules(ctx context.Context) (*server.ScheduleListView, error) {
	list, err := schedule.NewStore(d.b).List(ctx)
	if err != nil {
		return nil, err
	}
	return &server.ScheduleListView{Schedules: list}, nil
}

func (d *directOps) PutSchedule(ctx context.Context, name string, body []byte) (*schedule.Entry, error) {
	def, err := schedule.Decode(body)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	def.Name = name
	e, err := schedule.NewStore(d.b).Put(ctx, def, time.Now())
	if errors.Is(err, schedule.ErrInvalid) {
		return nil, withCode(exitUsage, err)
	}
	return e, err
}

func (d *directOps) DeleteSchedule(ctx context.Context, name string) error {
	return schedule.NewStore(d.b).Delete(ctx, name)
}

func (d *directOps) TriggerSchedule(ctx context.Context, name, idempotencyKey string) (*server.EnqueueView, error) {
	res, err := schedule.TriggerOnce(ctx, d.c, name, idempotencyKey)
	if errors.Is(err, schedule.ErrInvalid) {
		return nil, withCode(exitUsage, err)
	}
	if err != nil {
		return nil, err
	}
	return &server.EnqueueView{ID: res.ID, Duplicate: res.Duplicate, State: res.State}, nil
}
