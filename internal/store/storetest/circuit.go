package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// testEndpointCircuit covers SetEndpointCircuit: the state read back on
// the endpoint, UpdatedAt left alone, and the circuit-open endpoints among
// Stats' troubled ones while (and only while) their circuit is open.
func testEndpointCircuit(t *testing.T, open Opener) {
	t.Run("SetReadClear", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("a")
		ep := h.endpoint(app.ID)
		wantNilTime(t, ep.CircuitOpenUntil, "new endpoint's circuit")

		until := h.at(90*time.Second + 123*time.Microsecond) // kept to the millisecond
		must(t, h.s.SetEndpointCircuit(h.ctx, &store.SetEndpointCircuitParams{EndpointID: ep.ID, OpenUntil: until}), "SetEndpointCircuit")
		got, err := h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		must(t, err, "GetEndpoint")
		wantTimePtr(t, got.CircuitOpenUntil, until, "circuit open until")
		wantTime(t, got.UpdatedAt, ep.UpdatedAt, "updated_at after a circuit write")
		list, err := h.s.ListFanoutEndpoints(h.ctx, app.ID)
		must(t, err, "ListFanoutEndpoints")
		eq(t, len(list), 1, "fan-out endpoints")
		wantTimePtr(t, list[0].CircuitOpenUntil, until, "fan-out endpoint's circuit")

		must(t, h.s.SetEndpointCircuit(h.ctx, &store.SetEndpointCircuitParams{EndpointID: ep.ID}), "SetEndpointCircuit closed")
		got, err = h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		must(t, err, "GetEndpoint")
		wantNilTime(t, got.CircuitOpenUntil, "closed circuit")

		must(t, h.s.SetEndpointCircuit(h.ctx, &store.SetEndpointCircuitParams{EndpointID: "ep_gone", OpenUntil: until}),
			"SetEndpointCircuit of an endpoint that does not exist")
	})

	t.Run("Stats", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("a")
		open1, closed, disabled := h.endpoint(app.ID), h.endpoint(app.ID), h.endpoint(app.ID, func(p *store.CreateEndpointParams) { p.Disabled = true })
		h.endpoint(app.ID) // healthy: never listed
		until := h.at(time.Minute)
		for _, id := range []string{open1.ID, closed.ID, disabled.ID} {
			must(t, h.s.SetEndpointCircuit(h.ctx, &store.SetEndpointCircuitParams{EndpointID: id, OpenUntil: until}), "SetEndpointCircuit")
		}
		must(t, h.s.SetEndpointCircuit(h.ctx, &store.SetEndpointCircuitParams{EndpointID: closed.ID}), "SetEndpointCircuit closed")

		stats := func(now time.Time) *store.Stats {
			t.Helper()
			st, err := h.s.Stats(h.ctx, &store.StatsParams{AppID: app.ID, Since: h.at(-time.Hour), Until: h.now,
				Bucket: time.Hour, Now: now})
			must(t, err, "Stats")
			return st
		}
		st := stats(h.now)
		eq(t, len(st.Troubled), 2, "troubled endpoints while open")
		// Disabled first, whatever its circuit; then the circuit-open one.
		eq(t, st.Troubled[0].EndpointID, disabled.ID, "first troubled")
		eq(t, st.Troubled[0].State, store.EndpointStateDisabled, "disabled endpoint's state")
		wantTimePtr(t, st.Troubled[0].CircuitOpenUntil, until, "disabled endpoint's circuit")
		eq(t, st.Troubled[1].EndpointID, open1.ID, "second troubled")
		eq(t, st.Troubled[1].State, store.EndpointStateCircuitOpen, "circuit-open endpoint's state")
		wantTimePtr(t, st.Troubled[1].CircuitOpenUntil, until, "circuit-open endpoint's circuit")

		// At its end the circuit is no longer open (half-open, or its
		// node gone): the endpoint is not listed for it.
		st = stats(until)
		eq(t, len(st.Troubled), 1, "troubled endpoints once the circuit's time is over")
		eq(t, st.Troubled[0].EndpointID, disabled.ID, "the one troubled")
		wantNilTime(t, st.Troubled[0].CircuitOpenUntil, "disabled endpoint's circuit, over")
	})

	t.Run("BeforeFailing", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("a")
		failing, open1 := h.endpoint(app.ID), h.endpoint(app.ID)
		id := h.insert(app.ID, ev{at: h.at(-time.Minute), endpoints: []string{failing.ID}, claimed: true, owner: "w", lease: h.at(time.Hour)}).Deliveries[0].ID
		h.record(attempt{owner: "w", delivery: id, status: 503, number: 1, sched: 1, at: h.at(-time.Minute),
			decision: hook.Decision{Status: hook.DeliveryPending, NextAttemptAt: h.at(time.Hour)}})
		must(t, h.s.SetEndpointCircuit(h.ctx, &store.SetEndpointCircuitParams{EndpointID: open1.ID, OpenUntil: h.at(time.Minute)}), "SetEndpointCircuit")
		st, err := h.s.Stats(h.ctx, &store.StatsParams{AppID: app.ID, Since: h.at(-time.Hour), Until: h.now,
			Bucket: time.Hour, Now: h.now})
		must(t, err, "Stats")
		eq(t, len(st.Troubled), 2, "troubled endpoints")
		eq(t, st.Troubled[0].EndpointID, open1.ID, "circuit-open before failing")
		eq(t, st.Troubled[1].EndpointID, failing.ID, "failing after circuit-open")
		eq(t, st.Troubled[1].State, store.EndpointStateFailing, "failing endpoint's state")
		wantNilTime(t, st.Troubled[1].CircuitOpenUntil, "failing endpoint's circuit")
	})
}
