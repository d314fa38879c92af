package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

func testDiscardDeliveries(t *testing.T, open Opener) {
	h := setup(t, open)
	app := h.app("")
	a := h.endpoint(app.ID)
	b := h.endpoint(app.ID)
	c := h.endpoint(app.ID)
	res := h.insert(app.ID, ev{endpoints: []string{a.ID, b.ID, c.ID}, claimed: true, owner: "w", lease: h.at(time.Minute)})
	da, db, dc := res.Deliveries[0].ID, res.Deliveries[1].ID, res.Deliveries[2].ID
	other := h.insert(app.ID, ev{endpoints: []string{a.ID}, claimed: true, owner: "x", lease: h.at(time.Minute)}).Deliveries[0].ID
	// c has had an attempt, and is pending for a retry, leased again.
	h.record(attempt{owner: "w", delivery: dc, status: 500, sched: 1,
		decision: hook.Decision{Status: hook.DeliveryPending, NextAttemptAt: h.now}})
	if n := len(h.claim("w", h.now, 10, 10).Jobs); n != 1 {
		t.Fatalf("claimed %d, want the retry of c", n)
	}

	n, err := h.s.DiscardDeliveries(h.ctx, &store.DiscardDeliveriesParams{Owner: "w", IDs: []string{da, dc, other, "dlv_missing"}})
	must(t, err, "DiscardDeliveries")
	eq(t, n, 1, "discarded: a's only (c was attempted, other is x's)")
	if _, err := h.s.GetDelivery(h.ctx, app.ID, da); hook.ErrorCode(err) != hook.ENotFound {
		t.Errorf("GetDelivery(discarded) err = %v, want not found", err)
	}
	eq(t, h.delivery(app.ID, db).Status, hook.DeliveryPending, "b kept")
	eq(t, h.delivery(app.ID, dc).AttemptCount, 1, "c kept")
	eq(t, h.delivery(app.ID, other).Status, hook.DeliveryPending, "x's kept")
	eq(t, h.pending(), 3, "pending")

	n, err = h.s.DiscardDeliveries(h.ctx, &store.DiscardDeliveriesParams{Owner: "w"})
	must(t, err, "DiscardDeliveries of no ids")
	eq(t, n, 0, "discarded with no ids")
}
