package storetest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// StatsHistory is a synthetic delivery history for the Stats benchmarks
// of the backends: apps and endpoints made through the store, then
// deliveries (one event each) that a backend writes with direct SQL
// (Each), and the rollups the store would have written as it recorded
// their attempts (Rollups).
type StatsHistory struct {
	Apps      []*hook.App
	Endpoints []*hook.Endpoint
	// Deliveries spread evenly over [End-Span, End).
	Deliveries int
	Span       time.Duration
	End        time.Time
	// Failing endpoints' deliveries of the last two hours all failed;
	// Disabled endpoints are disabled.
	Failing, Disabled int

	rollups map[rollupKey]*store.AttemptRollup
}

type rollupKey struct {
	ep     string
	minute int64
}

// HistoryDelivery is one delivery of a StatsHistory, in its final state.
type HistoryDelivery struct {
	N          int
	ID         string
	EventID    string
	AppID      string
	EndpointID string
	Status     string
	Created    time.Time
	Attempts   int
	// LastAttempt is zero for a pending delivery never attempted.
	LastAttempt    time.Time
	ResponseStatus int
	// Next is a pending delivery's next attempt.
	Next time.Time
}

// NewStatsHistory creates apps×perApp endpoints in s (the first failing
// ones failing, the last disabled ones disabled) and describes deliveries
// over span up to end.
func NewStatsHistory(ctx context.Context, s store.Store, apps, perApp, deliveries int, span time.Duration, end time.Time) (*StatsHistory, error) {
	h := &StatsHistory{Deliveries: deliveries, Span: span, End: end.UTC().Truncate(time.Millisecond),
		Failing: 5, Disabled: 2, rollups: map[rollupKey]*store.AttemptRollup{}}
	start := h.End.Add(-span)
	for a := range apps {
		app, err := s.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: fmt.Sprintf("App %d", a), Now: start})
		if err != nil {
			return nil, err
		}
		h.Apps = append(h.Apps, app)
		for range perApp {
			ep, err := s.CreateEndpoint(ctx, &store.CreateEndpointParams{ID: hook.NewID("ep"), AppID: app.ID,
				URL: "https://example.com/hook", Secret: hook.NewSecret(), Now: start})
			if err != nil {
				return nil, err
			}
			h.Endpoints = append(h.Endpoints, ep)
		}
	}
	yes := true
	for _, ep := range h.Endpoints[len(h.Endpoints)-h.Disabled:] {
		if _, err := s.UpdateEndpoint(ctx, &store.UpdateEndpointParams{AppID: ep.AppID, EndpointID: ep.ID, Disabled: &yes, Now: start}); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// Each calls fn with every delivery, oldest first (fn must not keep d),
// and gathers their rollups. Deliveries created in the last ten minutes
// are pending; of the others, 0.5% failed after 5 attempts, 3% succeeded
// on a second attempt 30 s after a failed one, the rest at once; latencies
// are log-normal around 120 ms.
func (h *StatsHistory) Each(fn func(d *HistoryDelivery) error) error {
	rng := rand.New(rand.NewPCG(1, 2))
	start := h.End.Add(-h.Span)
	step := h.Span / time.Duration(h.Deliveries)
	d := &HistoryDelivery{}
	for i := range h.Deliveries {
		ep := h.Endpoints[rng.IntN(len(h.Endpoints))]
		*d = HistoryDelivery{N: i, ID: fmt.Sprintf("dlv_bench%09d", i), EventID: fmt.Sprintf("evt_bench%09d", i),
			AppID: ep.AppID, EndpointID: ep.ID, Created: start.Add(time.Duration(i) * step).Truncate(time.Millisecond)}
		lat := time.Duration(math.Exp(rng.NormFloat64()*0.8+math.Log(120)) * float64(time.Millisecond))
		failing := h.failing(ep.ID) && d.Created.After(h.End.Add(-2*time.Hour))
		disabled := h.disabled(ep.ID)
		switch r := rng.Float64(); {
		case h.End.Sub(d.Created) < 10*time.Minute || disabled && h.End.Sub(d.Created) < time.Hour:
			d.Status, d.Next = hook.DeliveryPending, d.Created
		case failing || r < 0.005:
			d.Status, d.Attempts, d.ResponseStatus = hook.DeliveryFailed, 5, 500
			d.LastAttempt = d.Created.Add(lat)
			h.add(d, d.LastAttempt, hook.DeliveryFailed)
		case r < 0.035:
			d.Status, d.Attempts, d.ResponseStatus = hook.DeliverySucceeded, 2, 200
			h.add(d, d.Created.Add(lat), hook.DeliveryPending)
			d.LastAttempt = d.Created.Add(30*time.Second + lat)
			h.add(d, d.LastAttempt, hook.DeliverySucceeded)
		default:
			d.Status, d.Attempts, d.ResponseStatus = hook.DeliverySucceeded, 1, 200
			d.LastAttempt = d.Created.Add(lat)
			h.add(d, d.LastAttempt, hook.DeliverySucceeded)
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	return nil
}

func (h *StatsHistory) failing(id string) bool {
	for _, ep := range h.Endpoints[:h.Failing] {
		if ep.ID == id {
			return true
		}
	}
	return false
}

func (h *StatsHistory) disabled(id string) bool {
	for _, ep := range h.Endpoints[len(h.Endpoints)-h.Disabled:] {
		if ep.ID == id {
			return true
		}
	}
	return false
}

// add gathers the rollup of one attempt of d, started at at (its
// duration: the rest of the latency, 0 here).
func (h *StatsHistory) add(d *HistoryDelivery, at time.Time, status string) {
	a := &hook.Attempt{StartedAt: at.Truncate(time.Millisecond), ResponseStatus: 200}
	if status != hook.DeliverySucceeded {
		a.ResponseStatus, a.ErrorKind, a.Error = 500, hook.ErrorKindStatus, "status 500"
	}
	r := store.NewAttemptRollup(d.AppID, d.EndpointID, a, 0, status, d.Created)
	k := rollupKey{r.EndpointID, r.Minute}
	if m, ok := h.rollups[k]; ok {
		merged := store.MergeRollups([]store.AttemptRollup{*m, r})[0]
		*m = merged
		return
	}
	h.rollups[k] = &r
}

// Rollups returns the rollups gathered by Each, one per endpoint and
// minute.
func (h *StatsHistory) Rollups() []store.AttemptRollup {
	out := make([]store.AttemptRollup, 0, len(h.rollups))
	for _, r := range h.rollups {
		out = append(out, *r)
	}
	return out
}

// BenchStatsOverview measures what the dashboard's overview asks of s,
// filled with h: Stats of every app over the last hour and the last 24
// hours in 1-minute buckets, then of one app and of one endpoint over 24
// hours.
func BenchStatsOverview(b *testing.B, s store.Store, h *StatsHistory) {
	now := h.End
	cases := []struct {
		name string
		p    store.StatsParams
	}{
		{"all/1h", store.StatsParams{Since: now.Add(-time.Hour), Until: now, Bucket: time.Minute}},
		{"all/24h", store.StatsParams{Since: now.Add(-24 * time.Hour), Until: now, Bucket: time.Minute}},
		{"app/24h", store.StatsParams{AppID: h.Apps[0].ID, Since: now.Add(-24 * time.Hour), Until: now, Bucket: time.Minute}},
		{"endpoint/24h", store.StatsParams{AppID: h.Apps[0].ID, EndpointID: h.Endpoints[0].ID,
			Since: now.Add(-24 * time.Hour), Until: now, Bucket: time.Minute}},
	}
	// HOOKD_BENCH_ROUNDS runs each case that many times (as -count
	// would, without filling the store again), for a median.
	rounds, _ := strconv.Atoi(os.Getenv("HOOKD_BENCH_ROUNDS"))
	for range max(rounds, 1) {
		benchStatsCases(b, s, now, cases)
	}
}

func benchStatsCases(b *testing.B, s store.Store, now time.Time, cases []struct {
	name string
	p    store.StatsParams
}) {
	ctx := context.Background()
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			p := c.p
			p.Now = now
			var st *store.Stats
			for b.Loop() {
				var err error
				if st, err = s.Stats(ctx, &p); err != nil {
					b.Fatal(err)
				}
			}
			var n int64
			for _, x := range st.Buckets {
				n += x.Succeeded
			}
			b.ReportMetric(float64(n), "succeeded")
			b.ReportMetric(float64(len(st.Troubled)), "troubled")
		})
	}
}
