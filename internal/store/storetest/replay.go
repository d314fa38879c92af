package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// testReplay checks InsertTestEvent, CreateDeliveries and
// ListUndeliveredEvents: the store side of the test-event, resend and
// replay-missing routes.
func testReplay(t *testing.T, open Opener) {
	t.Run("InsertTestEvent", func(t *testing.T) {
		h := setup(t, open)
		app, other := h.app(""), h.app("")
		ep, ep2 := h.endpoint(app.ID), h.endpoint(app.ID)
		off := h.endpoint(app.ID, disabled)
		foreign := h.endpoint(other.ID)
		newEvent := func(id string) *hook.Event {
			return &hook.Event{ID: id, AppID: app.ID, Type: "order.created", Data: json.RawMessage(`{"n":1}`),
				Livemode: true, CreatedAt: h.now}
		}

		res, err := h.s.InsertTestEvent(h.ctx, &store.InsertTestEventParams{
			Event: newEvent("evt_test"), DeliveryID: "dlv_test", EndpointID: ep.ID})
		must(t, err, "InsertTestEvent")
		eq(t, res.Created, true, "Created")
		eq(t, res.Event.Test, true, "result Event.Test")
		eq(t, len(res.Deliveries), 1, "deliveries")
		eq(t, res.Deliveries[0].EndpointID, ep.ID, "delivery endpoint")
		eq(t, res.Deliveries[0].Status, hook.DeliveryPending, "delivery status")
		got, err := h.s.GetEvent(h.ctx, app.ID, "evt_test")
		must(t, err, "GetEvent")
		eq(t, got.Test, true, "stored Test")
		page, err := h.s.ListDeliveries(h.ctx, &store.ListDeliveriesParams{AppID: app.ID, EventID: "evt_test"})
		must(t, err, "ListDeliveries")
		eq(t, len(page.Data), 1, "the test event's deliveries (ep2 got none)")
		_ = ep2
		c := h.claim("w", h.now, 10, 10)
		deepEq(t, jobIDs(c), []string{"dlv_test"}, "claimed")
		eq(t, c.Jobs[0].Event.Test, true, "claimed job's Event.Test")

		// A normal event is not a test event.
		h.insert(app.ID, ev{id: "evt_plain"})
		got, err = h.s.GetEvent(h.ctx, app.ID, "evt_plain")
		must(t, err, "GetEvent plain")
		eq(t, got.Test, false, "plain Test")

		_, err = h.s.InsertTestEvent(h.ctx, &store.InsertTestEventParams{
			Event: newEvent("evt_off"), DeliveryID: hook.NewID("dlv"), EndpointID: off.ID})
		wantErr(t, err, hook.EConflict, "-", "to a disabled endpoint")
		_, err = h.s.InsertTestEvent(h.ctx, &store.InsertTestEventParams{
			Event: newEvent("evt_foreign"), DeliveryID: hook.NewID("dlv"), EndpointID: foreign.ID})
		wantErr(t, err, hook.ENotFound, "-", "to another app's endpoint")
		_, err = h.s.InsertTestEvent(h.ctx, &store.InsertTestEventParams{
			Event: newEvent("evt_test"), DeliveryID: hook.NewID("dlv"), EndpointID: ep.ID})
		wantErr(t, err, hook.EConflict, "-", "an id that exists")
		for _, id := range []string{"evt_off", "evt_foreign"} {
			_, err := h.s.GetEvent(h.ctx, app.ID, id)
			wantErr(t, err, hook.ENotFound, "-", "nothing written: "+id)
		}
	})

	t.Run("CreateDeliveries", func(t *testing.T) {
		h := setup(t, open)
		app, other := h.app(""), h.app("")
		a, b := h.endpoint(app.ID), h.endpoint(app.ID)
		foreign := h.endpoint(other.ID)
		e1 := h.insert(app.ID, ev{id: "e1", endpoints: []string{a.ID}})
		h.insert(app.ID, ev{id: "e2", typ: "order.paid"})
		first := e1.Deliveries[0].ID

		now := h.at(time.Hour)
		ds, err := h.s.CreateDeliveries(h.ctx, &store.CreateDeliveriesParams{AppID: app.ID, Now: now,
			Deliveries: []store.EventDelivery{
				{ID: "d1", EventID: "e1", EndpointID: a.ID},
				{ID: "d2", EventID: "e1", EndpointID: b.ID},
				{ID: "d3", EventID: "e2", EndpointID: a.ID},
			}})
		must(t, err, "CreateDeliveries")
		eq(t, len(ds), 3, "created")
		for i, want := range []struct{ id, ev, typ, ep string }{
			{"d1", "e1", "order.created", a.ID}, {"d2", "e1", "order.created", b.ID}, {"d3", "e2", "order.paid", a.ID},
		} {
			d := ds[i]
			eq(t, d.ID, want.id, "ID (in the order given)")
			eq(t, d.EventID, want.ev, "EventID")
			eq(t, d.EventType, want.typ, "EventType")
			eq(t, d.EndpointID, want.ep, "EndpointID")
			eq(t, d.Status, hook.DeliveryPending, "Status")
			wantTimePtr(t, d.NextAttemptAt, now, "NextAttemptAt")
			stored := h.delivery(app.ID, want.id)
			eq(t, stored.EventID, want.ev, "stored EventID")
			eq(t, stored.EventType, want.typ, "stored EventType")
			eq(t, stored.Status, hook.DeliveryPending, "stored Status")
			wantTimePtr(t, stored.NextAttemptAt, now, "stored NextAttemptAt")
		}
		// The first delivery of e1 to a is still there: a resend adds one.
		h.delivery(app.ID, first)
		// Due at now: claimable then, not before.
		eq(t, len(h.claim("w", now.Add(-time.Second), 10, 10).Jobs), 1, "claimable before now (only e1's first)")
		c := h.claim("w2", now, 10, 10)
		deepEq(t, sorted(jobIDs(c)), sorted([]string{"d1", "d2", "d3"}), "claimable at now")

		// OnlyMissing leaves out the pairs that have a delivery.
		ds, err = h.s.CreateDeliveries(h.ctx, &store.CreateDeliveriesParams{AppID: app.ID, Now: now, OnlyMissing: true,
			Deliveries: []store.EventDelivery{
				{ID: "d4", EventID: "e1", EndpointID: a.ID},
				{ID: "d5", EventID: "e2", EndpointID: b.ID},
			}})
		must(t, err, "CreateDeliveries OnlyMissing")
		eq(t, len(ds), 1, "created with OnlyMissing")
		eq(t, ds[0].ID, "d5", "the missing one")
		_, err = h.s.GetDelivery(h.ctx, app.ID, "d4")
		wantErr(t, err, hook.ENotFound, "-", "d4 not created")

		// All or nothing.
		for _, tc := range []struct {
			name string
			ds   []store.EventDelivery
			code string
		}{
			{"unknown event", []store.EventDelivery{{ID: "x1", EventID: "e1", EndpointID: b.ID}, {ID: "x2", EventID: "nope", EndpointID: a.ID}}, hook.ENotFound},
			{"another app's endpoint", []store.EventDelivery{{ID: "x1", EventID: "e1", EndpointID: b.ID}, {ID: "x2", EventID: "e2", EndpointID: foreign.ID}}, hook.ENotFound},
			{"a delivery id that exists", []store.EventDelivery{{ID: "x1", EventID: "e1", EndpointID: b.ID}, {ID: "d1", EventID: "e2", EndpointID: b.ID}}, hook.EConflict},
		} {
			_, err := h.s.CreateDeliveries(h.ctx, &store.CreateDeliveriesParams{AppID: app.ID, Now: now, Deliveries: tc.ds})
			wantErr(t, err, tc.code, "-", tc.name)
			_, err = h.s.GetDelivery(h.ctx, app.ID, "x1")
			wantErr(t, err, hook.ENotFound, "-", tc.name+": nothing written")
		}
		_, err = h.s.CreateDeliveries(h.ctx, &store.CreateDeliveriesParams{AppID: other.ID, Now: now,
			Deliveries: []store.EventDelivery{{ID: "x3", EventID: "e1", EndpointID: foreign.ID}}})
		wantErr(t, err, hook.ENotFound, "-", "another app's event")
	})

	t.Run("ListUndeliveredEvents", func(t *testing.T) {
		h := setup(t, open)
		app, other := h.app(""), h.app("")
		ep, b := h.endpoint(app.ID), h.endpoint(app.ID)
		h.insert(other.ID, ev{id: "o1", at: h.at(time.Second)})
		h.insert(app.ID, ev{id: "before", at: h.at(-time.Second)})
		h.insert(app.ID, ev{id: "a", at: h.at(1 * time.Second), endpoints: []string{ep.ID}})
		h.insert(app.ID, ev{id: "b", at: h.at(2 * time.Second), endpoints: []string{b.ID}})
		// Inserted out of time order: listed by CreatedAt.
		h.insert(app.ID, ev{id: "d", at: h.at(4 * time.Second), typ: "order.paid"})
		h.insert(app.ID, ev{id: "c", at: h.at(3 * time.Second), typ: "invoice.created"})
		h.insert(app.ID, ev{id: "e", at: h.at(5 * time.Second), data: `{"big":"0123456789"}`})
		h.insert(app.ID, ev{id: "until", at: h.at(6 * time.Second)})
		_, err := h.s.InsertTestEvent(h.ctx, &store.InsertTestEventParams{EndpointID: b.ID, DeliveryID: hook.NewID("dlv"),
			Event: &hook.Event{ID: "t", AppID: app.ID, Type: "order.created", Data: json.RawMessage(`{}`), CreatedAt: h.at(2 * time.Second)}})
		must(t, err, "InsertTestEvent")
		// Expunged: its payload is gone, it is not sent again.
		h.insert(app.ID, ev{id: "expunged", at: h.at(3 * time.Second)})
		_, err = h.s.ExpungeEvent(h.ctx, &store.ExpungeEventParams{AppID: app.ID, EventID: "expunged", Now: h.now})
		must(t, err, "ExpungeEvent")
		// Any delivery to ep, whatever its status, counts as received.
		h.insert(app.ID, ev{id: "failed", at: h.at(5 * time.Second), endpoints: []string{ep.ID}})

		list := func(p store.ListUndeliveredEventsParams) ([]string, *store.UndeliveredEvents) {
			t.Helper()
			p.AppID, p.EndpointID = app.ID, ep.ID
			if p.Since.IsZero() {
				p.Since = h.now
			}
			if p.Limit == 0 {
				p.Limit = 100
			}
			res, err := h.s.ListUndeliveredEvents(h.ctx, &p)
			must(t, err, "ListUndeliveredEvents")
			ids := []string{}
			for _, e := range res.Events {
				ids = append(ids, e.ID)
			}
			return ids, res
		}
		ids, res := list(store.ListUndeliveredEventsParams{Until: h.at(6 * time.Second)})
		deepEq(t, ids, []string{"b", "c", "d", "e"}, "undelivered in the window, oldest first")
		eq(t, res.More, false, "More")
		ids, _ = list(store.ListUndeliveredEventsParams{})
		deepEq(t, ids, []string{"b", "c", "d", "e", "until"}, "no Until")
		ids, _ = list(store.ListUndeliveredEventsParams{EventTypes: []string{"order.*"}, Until: h.at(6 * time.Second)})
		deepEq(t, ids, []string{"b", "d", "e"}, "type patterns")
		wantJSON(t, res.Events[3].Data, `{"big":"0123456789"}`, "data read")

		ids, res = list(store.ListUndeliveredEventsParams{Limit: 2})
		deepEq(t, ids, []string{"b", "c"}, "Limit 2")
		eq(t, res.More, true, "More at Limit")
		wantTime(t, res.Next, h.at(4*time.Second), "Next: d's CreatedAt")
		ids, res = list(store.ListUndeliveredEventsParams{Limit: 2, EventTypes: []string{"order.*"}})
		deepEq(t, ids, []string{"b", "d"}, "Limit 2 with a pattern")
		wantTime(t, res.Next, h.at(5*time.Second), "Next with a pattern: e's, c skipped")
		ids, res = list(store.ListUndeliveredEventsParams{Since: h.at(4 * time.Second), MaxBytes: 20})
		deepEq(t, ids, []string{"d"}, "MaxBytes")
		eq(t, res.More, true, "More at MaxBytes")
		wantTime(t, res.Next, h.at(5*time.Second), "Next at MaxBytes")
		ids, _ = list(store.ListUndeliveredEventsParams{Since: h.at(5 * time.Second), MaxBytes: 1})
		deepEq(t, ids, []string{"e"}, "MaxBytes below one event's data: that one still")
		ids, res = list(store.ListUndeliveredEventsParams{Since: h.at(10 * time.Second)})
		deepEq(t, ids, []string{}, "an empty window")
		eq(t, res.More, false, "More of an empty window")
	})
}
