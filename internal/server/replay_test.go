package server_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/webhook"
)

// TestTestEventResendReplayDeliver: a test event, a resend and a
// replay-missing are delivered for real, signed, to the endpoints they
// name and no other.
func TestTestEventResendReplayDeliver(t *testing.T) {
	t.Parallel()
	h := startHookd(t)
	rcv := newReceiver(t)
	h.must(t, "POST", "/v1/event-types", `{"name":"order.created","example":{"order":"ord_example","total":42}}`, http.StatusCreated, nil)
	app := h.createApp(t, `{"name":"replay"}`)
	// filtered's filter does not let the example through: a test event
	// goes to it all the same.
	filtered := h.createEndpoint(t, app.ID, rcv, "/filtered", `{"filter":".data.order == \"never\""}`)
	other := h.createEndpoint(t, app.ID, rcv, "/other", `{}`)

	var test struct {
		Event    hook.Event    `json:"event"`
		Delivery hook.Delivery `json:"delivery"`
	}
	h.must(t, "POST", "/v1/apps/"+app.ID+"/endpoints/"+filtered.ID+"/test", `{"type":"order.created"}`, http.StatusAccepted, &test)
	got := rcv.await(t, filtered.path, test.Event.ID)
	checkStandardDelivery(t, got, filtered.secret, test.Event.ID)
	sameJSON(t, "the test event's data", member(t, got.Body, "data"), []byte(`{"order":"ord_example","total":42}`))

	// An event published before the endpoints later and fresh exist.
	ev := h.publish(t, app.ID, `{"type":"order.created","data":{"order":"o1"}}`)
	rcv.await(t, other.path, ev.ID)
	later := h.createEndpoint(t, app.ID, rcv, "/later", `{"event_types":["order.*"]}`)
	var resent struct {
		Deliveries []hook.Delivery `json:"deliveries"`
	}
	h.must(t, "POST", "/v1/apps/"+app.ID+"/events/"+ev.ID+"/resend", nil, http.StatusAccepted, &resent)
	// To other and later. (filtered's filter refuses o1: it is skipped, or,
	// if the filter budget ran out first, its delivery is discarded
	// before the attempt.)
	to := map[string]bool{}
	for _, d := range resent.Deliveries {
		to[d.EndpointID] = true
	}
	if !to[other.ID] || !to[later.ID] {
		t.Errorf("resend created deliveries to %v, want %s and %s among them", to, other.ID, later.ID)
	}
	checkStandardDelivery(t, rcv.await(t, later.path, ev.ID), later.secret, ev.ID)
	rcv.waitFor(t, other.path, "the event twice", func(got []received) bool { return len(got) == 2 })

	fresh := h.createEndpoint(t, app.ID, rcv, "/fresh", `{}`)
	var replay struct{ Sent int }
	h.must(t, "POST", "/v1/apps/"+app.ID+"/endpoints/"+fresh.ID+"/replay-missing",
		map[string]any{"since": time.Now().Add(-time.Minute)}, http.StatusAccepted, &replay)
	if replay.Sent != 1 {
		t.Errorf("replay-missing sent %d, want 1 (the event, not the test event)", replay.Sent)
	}
	checkStandardDelivery(t, rcv.await(t, fresh.path, ev.ID), fresh.secret, ev.ID)

	// Everything sent has been received: the test event went to filtered
	// only, and filtered never got the published event.
	for _, path := range []string{other.path, later.path, fresh.path} {
		for _, g := range rcv.on(path) {
			if g.Header.Get(webhook.HeaderID) == test.Event.ID {
				t.Errorf("%s received the test event", path)
			}
		}
	}
	for _, g := range rcv.on(filtered.path) {
		if id := g.Header.Get(webhook.HeaderID); id != test.Event.ID {
			t.Errorf("%s received event %s, which its filter refuses", filtered.path, id)
		}
	}
	if ds := h.deliveries(t, app.ID, url.Values{"event": {test.Event.ID}}); len(ds) != 1 || ds[0].Status != hook.DeliverySucceeded {
		t.Errorf("the test event's deliveries: %+v, want one, succeeded", ds)
	}
}
