package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd/internal/envelope"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// spinUntil is a filter that spins until it is stopped (its time limit,
// or the request's budget), as a hostile tenant's would.
const spinUntil = `def f: f; f`

// matchOne is a quick filter: the budget the spinning filters use up
// leaves it undecided on most events, for the dispatcher to evaluate.
const matchOne = `.data.n == 1`

// TestFiltersLeftUndecidedByTheBudgetAreEvaluatedBeforeTheFirstAttempt
// checks that the publish request spends at most its budget on filters,
// whatever the tenant's programs do, and that the filters it did not
// decide are decided by the dispatcher, with the publish-time rules: a
// delivery that passes goes out, one that does not, or whose filter fails,
// is discarded.
func TestFiltersLeftUndecidedByTheBudgetAreEvaluatedBeforeTheFirstAttempt(t *testing.T) {
	t.Parallel()
	const budget = 5 * time.Millisecond
	reg := prometheus.NewRegistry()
	e := newEnv(t, func(c *Config) {
		c.FilterBudget = budget
		c.Renderer = envelope.NewRenderer(envelope.Options{Timeout: 100 * time.Millisecond})
		c.Registerer = reg
		// The dispatcher evaluates the undecided filters in the attempts'
		// goroutines, in this process. Unbounded, a score of the 60
		// spinning ones run at once (18 seen), and the quick filter,
		// waiting for its turn on the CPU behind them, can run past its
		// 100 ms limit and be discarded as failed (it did, under -race).
		// Four at a time keep its wait to a few scheduler slices.
		c.MaxInFlight = 4
	})
	plain := newReceiver(t, nil)
	matcher := newReceiver(t, nil)
	e.endpoint(plain.URL, nil)
	e.endpoint(matcher.URL, func(p *store.CreateEndpointParams) { p.Filter = matchOne })
	var spinners []*receiver
	for range 3 {
		rc := newReceiver(t, nil)
		spinners = append(spinners, rc)
		e.endpoint(rc.URL, func(p *store.CreateEndpointParams) { p.Filter = spinUntil })
	}

	evs := make([]*hook.Event, 20)
	for i := range evs {
		n := 1
		if i%2 == 1 {
			n = 2 // does not match matchOne
		}
		evs[i] = &hook.Event{ID: hook.NewID("evt"), AppID: e.app.ID, Type: "order.created",
			Data: json.RawMessage(`{"n":` + string(rune('0'+n)) + `}`), CreatedAt: e.clock.Now()}
	}
	res, err := e.d.PublishBatch(context.Background(), e.app, evs)
	if err != nil {
		t.Fatal(err)
	}
	// 20 events, 3 spinning filters each: the budget (far shorter than
	// their 100 ms limit) leaves every one of them undecided in the
	// request; none is run to its limit there (20 x 3 x 100 ms), which
	// would fail it and drop its delivery. (How long the request takes
	// is not checked: under load the store write alone can take a
	// second. The envelope package checks that MatchAll keeps to its
	// budget.)
	if n := counterValue(t, reg, "hookd_filters_deferred_total"); n < 60 {
		t.Errorf("the request left %v filter runs undecided, want at least the 60 spinning ones", n)
	}
	created := 0
	for i, r := range res {
		if len(r.Deliveries) < 2 {
			t.Errorf("event %d: %d deliveries, want the plain one and the undecided ones", i, len(r.Deliveries))
		}
		created += len(r.Deliveries)
	}
	// Four attempts at a time, 60 filters of 100 ms: it takes seconds,
	// more under -race and load; what must not happen is that it stops.
	waitForCount(t, "the plain endpoint to get all 20", 20, plain.count)
	waitForCount(t, "every undecided delivery to be decided", created, func() int { return created - int(e.pendingCount()) })
	if n := matcher.count(); n != 10 {
		t.Errorf("the quick filter let %d events through, want 10", n)
		for i := range n {
			t.Logf("%s", matcher.get(i).body)
		}
	}
	waitFor(t, "every undecided delivery to be decided", func() bool { return e.pendingCount() == 0 })
	for i, rc := range spinners {
		if n := rc.count(); n != 0 {
			t.Errorf("spinning filter %d let %d deliveries through", i, n)
		}
	}
	// The discarded deliveries are gone; each event has the plain
	// endpoint's and, when it matched, the quick filter's.
	for i, r := range res {
		page, err := e.st.ListDeliveries(context.Background(), &store.ListDeliveriesParams{AppID: e.app.ID, EventID: r.Event.ID,
			ListParams: store.ListParams{Limit: 100}})
		if err != nil {
			t.Fatal(err)
		}
		want := 1 + (1 - i%2)
		if len(page.Data) != want {
			t.Errorf("event %d: %d deliveries left, want %d", i, len(page.Data), want)
		}
		for _, d := range page.Data {
			if d.Status != hook.DeliverySucceeded {
				t.Errorf("event %d: delivery %s is %s", i, d.ID, d.Status)
			}
		}
	}
}

// TestNegativeFilterBudgetEvaluatesEveryFilterInTheDispatcher checks the
// setting that keeps every filter off the request.
func TestNegativeFilterBudgetEvaluatesEveryFilterInTheDispatcher(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.FilterBudget = -1 })
	paid := newReceiver(t, nil)
	ep := e.endpoint(paid.URL, func(p *store.CreateEndpointParams) { p.Filter = `.data.paid` })
	a := e.publish("order.updated", `{"paid":true}`)
	b := e.publish("order.updated", `{"paid":false}`)
	if len(a.Deliveries) != 1 || len(b.Deliveries) != 1 {
		t.Fatalf("deliveries %d and %d, want 1 each before the dispatcher decides", len(a.Deliveries), len(b.Deliveries))
	}
	waitFor(t, "the paid event's delivery", func() bool { return paid.count() == 1 })
	waitFor(t, "the unpaid one to be discarded", func() bool { return e.pendingCount() == 0 })
	if _, err := e.st.GetDelivery(context.Background(), e.app.ID, b.Deliveries[0].ID); hook.ErrorCode(err) != hook.ENotFound {
		t.Errorf("the filtered delivery: %v, want it gone", err)
	}
	if got := e.delivery(a.Deliveries[0].ID); got.Status != hook.DeliverySucceeded || got.EndpointID != ep.ID {
		t.Errorf("the paid delivery is %s", got.Status)
	}
}

// TestSandboxBusyPutsOffWithoutAnAttempt checks what happens when an app's
// programs need more of the jq sandbox than its share: the attempts that
// find no worker are not attempts (nothing is recorded, no retry is used
// up), the endpoint is paused by its breaker rather than spinning, and
// every delivery goes out in the end with one attempt.
func TestSandboxBusyPutsOffWithoutAnAttempt(t *testing.T) {
	t.Parallel()
	sb, err := envelope.NewSandbox(envelope.SandboxOptions{Workers: 1, PerTenant: 1, MaxWaiting: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	e := newEnv(t, func(c *Config) {
		c.Renderer = envelope.NewRenderer(envelope.Options{Timeout: 5 * time.Second, Sandbox: sb})
	})
	rc := newReceiver(t, nil)
	e.endpoint(rc.URL, func(p *store.CreateEndpointParams) {
		p.Envelope = `(last(range(20000)) | 0) as $x | {t: .type, n: .data.n}`
	})
	const n = 20
	ids := make([]string, n)
	for i := range n {
		ids[i] = e.publish("order.created", fmt.Sprintf(`{"n":%d}`, i)).Deliveries[0].ID
	}
	// The breaker's cooldowns run on the fake clock: move it on until
	// every delivery is out.
	deadline := time.Now().Add(30 * time.Second)
	for rc.count() < n && time.Now().Before(deadline) {
		e.clock.Advance(time.Minute)
		time.Sleep(5 * time.Millisecond)
	}
	if got := rc.count(); got < n {
		t.Fatalf("%d of %d delivered", got, n)
	}
	for _, id := range ids {
		d := e.delivery(id)
		waitFor(t, "the attempt to be recorded", func() bool { d = e.delivery(id); return d.Status == hook.DeliverySucceeded })
		if d.AttemptCount != 1 {
			t.Errorf("delivery %s: %d attempts, want 1 (finding no worker is not an attempt)", id, d.AttemptCount)
		}
	}
}
