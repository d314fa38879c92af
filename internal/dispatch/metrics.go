package dispatch

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd/internal/hook"
)

// metrics are the dispatcher's Prometheus series.
type metrics struct {
	eventsAccepted    prometheus.Counter
	deliveriesCreated prometheus.Counter
	filtered          prometheus.Counter
	filterErrors      prometheus.Counter
	filtersDeferred   prometheus.Counter
	circuitsOpened    prometheus.Counter
	opsDropped        prometheus.Counter
	attempts          *prometheus.CounterVec
	attemptDuration   prometheus.Histogram
	pending           prometheus.GaugeFunc
	held              prometheus.GaugeFunc
	inFlight          prometheus.GaugeFunc
}

func newMetrics(d *Dispatcher) *metrics {
	return &metrics{
		eventsAccepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_events_accepted_total",
			Help: "Events stored (idempotent replays not counted).",
		}),
		deliveriesCreated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_deliveries_created_total",
			Help: "Deliveries created by fan-out.",
		}),
		filtered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_deliveries_filtered_total",
			Help: "Deliveries not created, or discarded before their first attempt, because the endpoint's payload filter was false for the event.",
		}),
		filterErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_filter_errors_total",
			Help: "Payload filter runs that failed (runtime error, time or memory limit); the endpoint got no delivery.",
		}),
		filtersDeferred: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_filters_deferred_total",
			Help: "Payload filters that the publish request's budget (HOOKD_FILTER_BUDGET) left undecided; the dispatcher evaluated them before the first attempt.",
		}),
		circuitsOpened: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_endpoint_circuits_opened_total",
			Help: "Times an endpoint's circuit breaker opened (or stayed open after a failed probe).",
		}),
		opsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_operational_events_dropped_total",
			Help: "Operational events not published: the queue was full, or the operator app does not exist.",
		}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookd_attempts_total",
			Help: "Delivery attempts by outcome: success, or the error kind (status, timeout, refused, dns, tls, network, blocked, internal).",
		}, []string{"outcome"}),
		attemptDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookd_attempt_duration_seconds",
			Help:    "Duration of delivery attempts, from sending to the end of the answer.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15, 30},
		}),
		pending: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hookd_deliveries_pending",
			Help: "Deliveries neither succeeded nor failed (read from the store at scrape).",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			n, err := d.st.CountPendingDeliveries(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		}),
		held: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hookd_dispatcher_held_deliveries",
			Help: "Deliveries this node holds in memory, queued or in flight.",
		}, func() float64 {
			d.mu.Lock()
			defer d.mu.Unlock()
			return float64(d.held)
		}),
		inFlight: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hookd_dispatcher_in_flight_attempts",
			Help: "Attempts this node has in flight.",
		}, func() float64 {
			d.mu.Lock()
			defer d.mu.Unlock()
			return float64(d.inFlight)
		}),
	}
}

func (m *metrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.eventsAccepted, m.deliveriesCreated, m.filtered, m.filterErrors, m.filtersDeferred, m.circuitsOpened, m.opsDropped, m.attempts, m.attemptDuration, m.pending, m.held, m.inFlight} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *metrics) observe(o hook.Outcome, d time.Duration) {
	label := o.ErrorKind
	if o.Succeeded() {
		label = "success"
	}
	m.attempts.WithLabelValues(label).Inc()
	m.attemptDuration.Observe(d.Seconds())
}
