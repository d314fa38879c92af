package dispatch

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// circuitOpen reports whether the endpoint's circuit is open with nothing
// in flight to it: then no attempt can start until the clock moves.
func (e *env) circuitOpen(id string) bool {
	e.d.mu.Lock()
	defer e.d.mu.Unlock()
	h := e.d.health[id]
	q := e.d.endpoints[id]
	return h != nil && !h.openUntil.IsZero() && !h.probing && (q == nil || q.inFlight == 0)
}

func TestCircuitBreakerPausesAndProbesADeadEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) {
		c.EndpointConcurrency = 1
		c.BreakerThreshold = 3
		c.BreakerCooldown = 10 * time.Second
		c.BreakerMaxCooldown = 40 * time.Second
		c.Schedule = hook.RetrySchedule{time.Hour}
	})
	var healthy atomic.Bool
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	ep := e.endpoint(rc.URL, nil)
	var ids []string
	for range 10 {
		ids = append(ids, e.publish("order.created", `{}`).Deliveries[0].ID)
	}
	waitFor(t, "the circuit to open", func() bool { return e.circuitOpen(ep.ID) })
	if n := rc.count(); n != 3 {
		t.Fatalf("%d attempts before the circuit opened, want the threshold 3", n)
	}

	// The cooldown ends: exactly one probe, which fails: open again, for
	// twice as long.
	e.clock.Advance(10 * time.Second)
	waitFor(t, "the probe", func() bool { return rc.count() == 4 })
	waitFor(t, "the circuit to reopen", func() bool { return e.circuitOpen(ep.ID) })
	e.clock.Advance(10 * time.Second)
	if rc.count() != 4 {
		t.Fatalf("%d attempts 10s into a 20s cooldown, want 4", rc.count())
	}

	// It recovers: the next probe succeeds and the rest goes out.
	healthy.Store(true)
	e.clock.Advance(10 * time.Second)
	for _, id := range ids[4:] {
		waitFor(t, "delivery "+id+" after the circuit closed", func() bool { return e.delivery(id).Status == hook.DeliverySucceeded })
	}
	e.d.mu.Lock()
	_, failing := e.d.health[ep.ID]
	e.d.mu.Unlock()
	if failing {
		t.Errorf("the endpoint is still marked failing after a success")
	}
	// The first four failed once each and wait for their retry, an hour out.
	for _, id := range ids[:4] {
		if d := e.delivery(id); d.Status != hook.DeliveryPending || d.AttemptCount != 1 {
			t.Errorf("delivery %s: %s after %d attempts, want pending after 1", id, d.Status, d.AttemptCount)
		}
	}
}

func TestSuccessResetsTheFailureCount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) {
		c.EndpointConcurrency = 1
		c.BreakerThreshold = 3
		c.Schedule = hook.RetrySchedule{time.Hour}
	})
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n%3 != 0 { // fail, fail, succeed, ...
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	ep := e.endpoint(rc.URL, nil)
	for range 9 {
		e.publish("order.created", `{}`)
	}
	waitFor(t, "9 attempts", func() bool { return rc.count() == 9 })
	if e.circuitOpen(ep.ID) {
		t.Fatalf("the circuit opened though no 3 failures came in a row")
	}
}

func TestEndpointFailingTooLongIsDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) {
		c.BreakerThreshold = 100
		c.DisableAfter = time.Hour
		c.Schedule = hook.RetrySchedule{24 * time.Hour}
	})
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	ep := e.endpoint(rc.URL, nil)
	// Waiting for the attempt to be recorded, so that its failure is
	// counted before the clock moves.
	first := e.publish("order.created", `{}`).Deliveries[0].ID
	waitFor(t, "the first failure", func() bool { return e.delivery(first).AttemptCount == 1 })
	e.clock.Advance(59 * time.Minute)
	second := e.publish("order.created", `{}`).Deliveries[0].ID
	waitFor(t, "the second failure", func() bool { return e.delivery(second).AttemptCount == 1 })
	got, err := e.st.GetEndpoint(context.Background(), e.app.ID, ep.ID)
	if err != nil || got.Disabled {
		t.Fatalf("endpoint disabled after 59 minutes of failing (%v)", err)
	}
	e.clock.Advance(time.Minute)
	e.publish("order.created", `{}`)
	waitFor(t, "the endpoint to be disabled", func() bool {
		got, err := e.st.GetEndpoint(context.Background(), e.app.ID, ep.ID)
		return err == nil && got.Disabled
	})

	// Enabling it again starts its time of failing afresh.
	no := false
	up, err := e.st.UpdateEndpoint(context.Background(), &store.UpdateEndpointParams{AppID: e.app.ID, EndpointID: ep.ID, Disabled: &no, Now: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	e.d.EndpointChanged(up)
	e.publish("order.created", `{}`)
	waitFor(t, "a failure after re-enabling", func() bool { return rc.count() >= 4 })
	got, _ = e.st.GetEndpoint(context.Background(), e.app.ID, ep.ID)
	if got.Disabled {
		t.Fatalf("re-enabled endpoint disabled again at its first failure")
	}
}
