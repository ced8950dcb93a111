package conveyor

import (
	"context"
	"errors"
	"sync"
	"time"

	"conveyor/backend"
	"conveyor/internal/worker"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names a Worker registers on WorkerConfig.Registerer.
const (
	MetricJobsFinished   = "conveyor_jobs_finished_total"             // counter {queue, kind, outcome}
	MetricJobsRescued    = "conveyor_jobs_rescued_total"              // counter {queue, kind}
	MetricJobDuration    = "conveyor_job_duration_seconds"            // histogram {queue, kind}
	MetricQueueJobs      = "conveyor_queue_jobs"                      // gauge {queue, state}, read at scrape time
	MetricQueueOldestAge = "conveyor_queue_oldest_queued_age_seconds" // gauge {queue}, read at scrape time
	MetricQueuePaused    = "conveyor_queue_paused"                    // gauge {queue}, 1 when paused
	MetricWorkerSlots    = "conveyor_worker_slots"                    // gauge {worker, queue, status=busy|idle}
)

// scrapeTimeout bounds the QueueList call made at each scrape.
const scrapeTimeout = 5 * time.Second

var durationBuckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// metrics holds a worker's Prometheus collectors. It implements
// worker.Observer; per (queue, kind) series are cached so that the hot path
// does no label hashing.
type metrics struct {
	b     backend.Backend
	clock Clock

	finished *prometheus.CounterVec
	rescuedC *prometheus.CounterVec
	duration *prometheus.HistogramVec

	mu     sync.RWMutex
	series map[seriesKey]*series
}

type seriesKey struct{ queue, kind string }

type series struct {
	outcomes map[backend.Outcome]prometheus.Counter
	duration prometheus.Observer
}

var outcomes = []backend.Outcome{backend.OutcomeCompleted, backend.OutcomeRetry, backend.OutcomeFailed, backend.OutcomeCancelled, backend.OutcomeSnoozed}

func newMetrics(b backend.Backend, reg prometheus.Registerer, clk Clock) (*metrics, error) {
	m := &metrics{b: b, clock: clk, series: map[seriesKey]*series{}}
	m.finished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricJobsFinished,
		Help: "Job attempts finished, by queue, kind and outcome (completed, retry, failed, cancelled, snoozed).",
	}, []string{"queue", "kind", "outcome"})
	m.rescuedC = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricJobsRescued,
		Help: "Running jobs handed back because their lease expired, by queue and kind.",
	}, []string{"queue", "kind"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    MetricJobDuration,
		Help:    "Time handlers ran, by queue and kind.",
		Buckets: durationBuckets,
	}, []string{"queue", "kind"})
	var err error
	if m.finished, err = registerOrExisting(reg, m.finished); err != nil {
		return nil, err
	}
	if m.rescuedC, err = registerOrExisting(reg, m.rescuedC); err != nil {
		return nil, err
	}
	if m.duration, err = registerOrExisting(reg, m.duration); err != nil {
		return nil, err
	}
	// Several workers may share a registry: one queue collector is enough.
	if err := reg.Register(&queueCollector{m: m}); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, err
		}
	}
	return m, nil
}

// registerOrExisting registers c, or returns the collector of the same
// shape already registered (a second worker on the same registry).
func registerOrExisting[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

func (m *metrics) seriesFor(queue, kind string) *series {
	k := seriesKey{queue, kind}
	m.mu.RLock()
	s := m.series[k]
	m.mu.RUnlock()
	if s != nil {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s = m.series[k]; s != nil {
		return s
	}
	s = &series{outcomes: make(map[backend.Outcome]prometheus.Counter, len(outcomes)), duration: m.duration.WithLabelValues(queue, kind)}
	for _, o := range outcomes {
		s.outcomes[o] = m.finished.WithLabelValues(queue, kind, string(o))
	}
	m.series[k] = s
	return s
}

// JobStarted implements worker.Observer (busy slots are read at scrape time).
func (m *metrics) JobStarted(*backend.Job) {}

// JobFinished implements worker.Observer.
func (m *metrics) JobFinished(job *backend.Job, out *backend.JobOutcome, elapsed time.Duration) {
	s := m.seriesFor(job.Queue, job.Kind)
	if c := s.outcomes[out.Outcome]; c != nil {
		c.Inc()
	}
	s.duration.Observe(elapsed.Seconds())
}

func (m *metrics) rescued(j backend.RescuedJob) {
	m.rescuedC.WithLabelValues(j.Queue, j.Kind).Inc()
}

var (
	queueJobsDesc   = prometheus.NewDesc(MetricQueueJobs, "Jobs per queue and state, read from the backend at scrape time.", []string{"queue", "state"}, nil)
	queueAgeDesc    = prometheus.NewDesc(MetricQueueOldestAge, "Age of the oldest queued job per queue (0 when none), read at scrape time.", []string{"queue"}, nil)
	queuePausedDesc = prometheus.NewDesc(MetricQueuePaused, "1 when the queue is paused.", []string{"queue"}, nil)
	slotsDesc       = prometheus.NewDesc(MetricWorkerSlots, "Handler slots of this worker per queue, busy or idle.", []string{"worker", "queue", "status"}, nil)
)

// queueCollector reads queue depths from the backend at scrape time, and
// the busy/idle slots of every worker sharing the registry.
type queueCollector struct {
	m *metrics
}

// Describe implements prometheus.Collector.
func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueJobsDesc
	ch <- queueAgeDesc
	ch <- queuePausedDesc
}

// Collect implements prometheus.Collector.
func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	now := c.m.clock.Now()
	res, err := c.m.b.QueueList(ctx, &backend.QueueListParams{Now: now})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueJobsDesc, err)
		return
	}
	for _, q := range res.Queues {
		for _, st := range backend.AllStates {
			ch <- prometheus.MustNewConstMetric(queueJobsDesc, prometheus.GaugeValue, float64(q.Counts[st]), q.Name, string(st))
		}
		age := 0.0
		if !q.OldestQueuedAt.IsZero() {
			age = max(now.Sub(q.OldestQueuedAt).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(queueAgeDesc, prometheus.GaugeValue, age, q.Name)
		paused := 0.0
		if q.Paused {
			paused = 1
		}
		ch <- prometheus.MustNewConstMetric(queuePausedDesc, prometheus.GaugeValue, paused, q.Name)
	}
}

// slotsCollector reports one worker's busy and idle slots.
type slotsCollector struct {
	id    string
	stats func() []worker.QueueStats
}

// Describe implements prometheus.Collector. It describes nothing, which
// makes the collector unchecked: workers sharing a registry each report
// their own slots, told apart by the worker label.
func (c *slotsCollector) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (c *slotsCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.stats() {
		ch <- prometheus.MustNewConstMetric(slotsDesc, prometheus.GaugeValue, float64(s.Busy), c.id, s.Queue, "busy")
		ch <- prometheus.MustNewConstMetric(slotsDesc, prometheus.GaugeValue, float64(s.Slots-s.Busy), c.id, s.Queue, "idle")
	}
}
