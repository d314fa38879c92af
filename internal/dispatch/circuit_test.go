package dispatch

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
)

// storedCircuit is the endpoint's circuit state as the store has it.
func (e *env) storedCircuit(id string) *time.Time {
	e.t.Helper()
	ep, err := e.st.GetEndpoint(context.Background(), e.app.ID, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return ep.CircuitOpenUntil
}

// The store learns of an endpoint's circuit: its end when it opens, a
// later end when a probe fails and it opens again, nothing once a probe
// succeeds and it closes.
func TestCircuitStateIsWrittenToTheStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) {
		c.EndpointConcurrency = 1
		c.BreakerThreshold = 2
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
	for range 4 {
		e.publish("order.created", `{}`)
	}
	waitFor(t, "the circuit to open", func() bool { return e.circuitOpen(ep.ID) })
	stored := func(want time.Time, what string) {
		t.Helper()
		waitFor(t, what, func() bool { u := e.storedCircuit(ep.ID); return u != nil && u.Equal(want) })
	}
	stored(t0.Add(10*time.Second), "the store to have the circuit open until t0+10s")

	// The probe fails: open again, for twice as long.
	e.clock.Advance(10 * time.Second)
	waitFor(t, "the probe", func() bool { return rc.count() == 3 })
	waitFor(t, "the circuit to reopen", func() bool { return e.circuitOpen(ep.ID) })
	stored(t0.Add(30*time.Second), "the store to have the circuit open until t0+30s")

	// The next probe succeeds: closed.
	healthy.Store(true)
	e.clock.Advance(20 * time.Second)
	waitFor(t, "the probe to succeed", func() bool { return rc.count() >= 4 })
	waitFor(t, "the store to have the circuit closed", func() bool { return e.storedCircuit(ep.ID) == nil })
}
