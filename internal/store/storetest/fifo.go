package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// testFIFO covers the claims of an endpoint with ordering fifo: only its
// oldest pending delivery is ever claimable, and only when due and not in
// flight, so the next waits until it succeeded or finally failed.
func testFIFO(t *testing.T, open Opener) {
	h := setup(t, open)
	app := h.app("a")
	fifo := h.endpoint(app.ID, func(p *store.CreateEndpointParams) { p.Ordering = hook.OrderingFIFO })
	eq(t, fifo.Ordering, hook.OrderingFIFO, "stored ordering")
	free := h.endpoint(app.ID)
	// Due out of insertion order: order is the events' order, not the due time.
	ids := h.due(app.ID, fifo.ID, 3, h.at(2*time.Second), -time.Second)
	h.due(app.ID, free.ID, 3, h.now, 0)

	res := h.claim("n", h.at(10*time.Second), 10, 10)
	byEP := countBy(res)
	eq(t, byEP[free.ID], 3, "the unordered endpoint's deliveries")
	eq(t, byEP[fifo.ID], 1, "the FIFO endpoint's deliveries")
	for _, j := range res.Jobs {
		if j.EndpointID == fifo.ID {
			eq(t, j.DeliveryID, ids[0], "the FIFO endpoint's first claim")
		}
	}
	// In flight: nothing more of it.
	eq(t, len(h.claim("n2", h.at(11*time.Second), 10, 10).Jobs), 0, "claim while the head is in flight")

	// The head fails and waits for a retry: the others wait too.
	h.record(attempt{owner: "n", delivery: ids[0], endpoint: fifo.ID, status: 500, at: h.at(12 * time.Second),
		sched: 1, decision: hook.Decision{Status: hook.DeliveryPending, NextAttemptAt: h.at(time.Minute)}})
	eq(t, len(h.claim("n", h.at(20*time.Second), 10, 10).Jobs), 0, "claim while the head waits for its retry")
	res = h.claim("n", h.at(time.Minute), 10, 10)
	eq(t, len(res.Jobs), 1, "claim when the head is due again")
	eq(t, res.Jobs[0].DeliveryID, ids[0], "the head again")

	// It succeeds: the next one comes.
	h.record(attempt{owner: "n", delivery: ids[0], endpoint: fifo.ID, status: 200, number: 2, at: h.at(time.Minute),
		decision: hook.Decision{Status: hook.DeliverySucceeded}})
	res = h.claim("n", h.at(time.Minute+time.Second), 10, 10)
	eq(t, len(res.Jobs), 1, "claim after the head succeeded")
	eq(t, res.Jobs[0].DeliveryID, ids[1], "the second")

	// Finally failed counts as done too.
	h.record(attempt{owner: "n", delivery: ids[1], endpoint: fifo.ID, status: 500, at: h.at(2 * time.Minute),
		decision: hook.Decision{Status: hook.DeliveryFailed}})
	res = h.claim("n", h.at(2*time.Minute+time.Second), 10, 10, free.ID)
	eq(t, len(res.Jobs), 1, "claim after the second failed for good")
	eq(t, res.Jobs[0].DeliveryID, ids[2], "the third")
}

// testPaused covers deliveries of a disabled endpoint: kept, read as
// paused, not claimable, and pending again once it is enabled.
func testPaused(t *testing.T, open Opener) {
	h := setup(t, open)
	app := h.app("a")
	off := h.endpoint(app.ID, disabled)
	on := h.endpoint(app.ID)
	all, err := h.s.ListFanoutEndpoints(h.ctx, app.ID)
	must(t, err, "ListFanoutEndpoints")
	eq(t, len(all), 2, "fan-out endpoints, the disabled one too")
	eq(t, all[0].ID, off.ID, "oldest first")
	res := h.insert(app.ID, ev{endpoints: []string{off.ID, on.ID}})
	var paused string
	for _, d := range res.Deliveries {
		if d.EndpointID == off.ID {
			paused = d.ID
		}
	}
	eq(t, h.delivery(app.ID, paused).Status, hook.DeliveryPaused, "a disabled endpoint's delivery")
	list := func(status string) int {
		t.Helper()
		p, err := h.s.ListDeliveries(h.ctx, &store.ListDeliveriesParams{AppID: app.ID, Status: status})
		must(t, err, "ListDeliveries "+status)
		for _, d := range p.Data {
			if d.Status != status {
				t.Fatalf("ListDeliveries status=%s gave a %s one", status, d.Status)
			}
		}
		return len(p.Data)
	}
	eq(t, list(hook.DeliveryPaused), 1, "paused listed")
	eq(t, list(hook.DeliveryPending), 1, "pending listed")
	claimed := h.claim("n", h.at(time.Second), 10, 10)
	eq(t, len(claimed.Jobs), 1, "claimable: the enabled endpoint's only")

	no := false
	_, err = h.s.UpdateEndpoint(h.ctx, &store.UpdateEndpointParams{AppID: app.ID, EndpointID: off.ID, Disabled: &no, Now: h.now})
	must(t, err, "enable")
	eq(t, h.delivery(app.ID, paused).Status, hook.DeliveryPending, "after enabling")
	claimed = h.claim("n", h.at(2*time.Second), 10, 10)
	eq(t, len(claimed.Jobs), 1, "claimable after enabling")
	eq(t, claimed.Jobs[0].DeliveryID, paused, "the paused one")
}
