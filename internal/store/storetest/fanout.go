package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// testFanoutCache checks that ListFanoutEndpoints, which backends serve
// from memory, shows every endpoint write made through the store at once:
// creation, update, disabling (by the API or by RecordAttempt), secret
// rotation, deletion, and the app's deletion.
func testFanoutCache(t *testing.T, open Opener) {
	h := setup(t, open)
	app := h.app("a")
	fanout := func(what string) []*hook.Endpoint {
		t.Helper()
		eps, err := h.s.ListFanoutEndpoints(h.ctx, app.ID)
		must(t, err, "ListFanoutEndpoints "+what)
		return eps
	}
	eq(t, len(fanout("of an app without endpoints")), 0, "endpoints of a new app")

	a := h.endpoint(app.ID)
	eq(t, len(fanout("after a create")), 1, "endpoints after a create")
	b := h.endpoint(app.ID)
	eps := fanout("after a second create")
	eq(t, len(eps), 2, "endpoints after a second create")
	eq(t, eps[1].ID, b.ID, "second endpoint")

	types := []string{"invoice.paid"}
	_, err := h.s.UpdateEndpoint(h.ctx, &store.UpdateEndpointParams{AppID: app.ID, EndpointID: a.ID,
		EventTypes: &types, Now: h.at(time.Second)})
	must(t, err, "UpdateEndpoint event types")
	deepEq(t, fanout("after an update")[0].EventTypes, types, "event types after an update")

	off := true
	_, err = h.s.UpdateEndpoint(h.ctx, &store.UpdateEndpointParams{AppID: app.ID, EndpointID: a.ID,
		Disabled: &off, Now: h.at(2 * time.Second)})
	must(t, err, "UpdateEndpoint disabled")
	eq(t, fanout("after disabling")[0].Disabled, true, "disabled after an update")

	secret := hook.NewSecret()
	_, err = h.s.RotateEndpointSecret(h.ctx, &store.RotateEndpointSecretParams{AppID: app.ID, EndpointID: b.ID,
		Secret: secret, PreviousExpiresAt: h.at(time.Hour), Now: h.at(3 * time.Second)})
	must(t, err, "RotateEndpointSecret")
	eps = fanout("after a rotation")
	eq(t, eps[1].Secret, secret, "secret after a rotation")
	eq(t, eps[1].PreviousSecret, b.Secret, "previous secret after a rotation")

	// The dispatcher disables a failing endpoint with its attempt.
	res := h.insert(app.ID, ev{at: h.at(4 * time.Second), endpoints: []string{b.ID}, claimed: true, owner: "n",
		lease: h.at(time.Minute)})
	h.record(attempt{owner: "n", delivery: res.Deliveries[0].ID, endpoint: b.ID, status: 500, at: h.at(5 * time.Second),
		sched: 1, decision: hook.Decision{Status: hook.DeliveryFailed, DisableEndpoint: true}})
	eq(t, fanout("after RecordAttempt disabled it")[1].Disabled, true, "disabled by RecordAttempt")

	must(t, h.s.DeleteEndpoint(h.ctx, app.ID, a.ID), "DeleteEndpoint")
	eps = fanout("after a delete")
	eq(t, len(eps), 1, "endpoints after a delete")
	eq(t, eps[0].ID, b.ID, "the endpoint left")

	must(t, h.s.DeleteApp(h.ctx, app.ID), "DeleteApp")
	eq(t, len(fanout("of a deleted app")), 0, "endpoints of a deleted app")
}
