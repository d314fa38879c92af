package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// testQueries covers endpoints by uid, type patterns and time ranges in
// the lists, ListAttempts, and retries refused for a disabled endpoint.
func testQueries(t *testing.T, open Opener) {
	t.Run("EndpointByUID", func(t *testing.T) {
		h := setup(t, open)
		app, other := h.app(""), h.app("")
		ep := h.endpoint(app.ID, func(p *store.CreateEndpointParams) { p.UID = "billing" })
		oep := h.endpoint(other.ID, func(p *store.CreateEndpointParams) { p.UID = "billing" })
		got, err := h.s.GetEndpoint(h.ctx, app.ID, "billing")
		must(t, err, "GetEndpoint by uid")
		eq(t, got.ID, ep.ID, "by uid")
		got, err = h.s.GetEndpoint(h.ctx, other.ID, "billing")
		must(t, err, "GetEndpoint by uid, other app")
		eq(t, got.ID, oep.ID, "by uid in the other app")
		got, err = h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		must(t, err, "GetEndpoint by id")
		eq(t, got.UID, "billing", "by id")
		for _, ref := range []string{"nope", "", "Billing", oep.ID} {
			_, err = h.s.GetEndpoint(h.ctx, app.ID, ref)
			wantErr(t, err, hook.ENotFound, "-", "GetEndpoint "+ref)
		}
	})

	t.Run("TypePatterns", func(t *testing.T) {
		h := setup(t, open)
		app, other := h.app(""), h.app("")
		ep := h.endpoint(app.ID)
		types := []string{
			"order.created", "order.payment.failed", "invoice.created", "orderx.created", "order-x.created",
			"a.order.created", "order.updated", "order_x.b", "order.updated", "order.updated",
		}
		// The ids of each event and its delivery, in the order of types.
		evs, dlvs := make([]string, len(types)), make([]string, len(types))
		for i, typ := range types {
			res := h.insert(app.ID, ev{typ: typ, at: h.at(time.Duration(i) * time.Minute), endpoints: []string{ep.ID}})
			evs[i], dlvs[i] = res.Event.ID, res.Deliveries[0].ID
			h.insert(other.ID, ev{typ: typ})
		}
		// ids returns the ids of the given types, newest (last inserted) first.
		ids := func(of []string, want ...string) []string {
			var out []string
			for i := len(types) - 1; i >= 0; i-- {
				if slices.Contains(want, types[i]) {
					out = append(out, of[i])
				}
			}
			return out
		}
		listEvents := func(p store.ListEventsParams) []string {
			t.Helper()
			p.AppID = app.ID
			var out []string
			for range maxPages {
				page, err := h.s.ListEvents(h.ctx, &p)
				must(t, err, fmt.Sprintf("ListEvents %+v", p))
				for _, e := range page.Data {
					out = append(out, e.ID)
				}
				if page.NextCursor == "" {
					return out
				}
				p.Cursor = page.NextCursor
			}
			t.Fatal("too many pages")
			return nil
		}
		listDeliveries := func(p store.ListDeliveriesParams) []string {
			t.Helper()
			p.AppID = app.ID
			var out []string
			for range maxPages {
				page, err := h.s.ListDeliveries(h.ctx, &p)
				must(t, err, "ListDeliveries")
				for _, d := range page.Data {
					out = append(out, d.ID)
				}
				if page.NextCursor == "" {
					return out
				}
				p.Cursor = page.NextCursor
			}
			t.Fatal("too many pages")
			return nil
		}
		for _, c := range []struct {
			patterns []string
			want     []string
		}{
			{[]string{"order.*"}, []string{"order.created", "order.payment.failed", "order.updated"}},
			{[]string{"*.created"}, []string{"order.created", "invoice.created", "orderx.created", "order-x.created"}},
			{[]string{"order.*.failed"}, []string{"order.payment.failed"}},
			{[]string{"*.payment.*"}, []string{"order.payment.failed"}},
			{[]string{"*.order.*"}, []string{"a.order.created"}},
			{[]string{"*.*.*"}, []string{"order.payment.failed", "a.order.created"}},
			{[]string{"order.created"}, []string{"order.created"}},
			{[]string{"order.updated"}, []string{"order.updated"}},
			{[]string{"order.payment"}, nil},
			{[]string{"invoice.*", "order.updated", "order_x.*"}, []string{"invoice.created", "order.updated", "order_x.b"}},
			{[]string{"*"}, types},
			{[]string{"order.*", "*"}, types},
			{nil, types},
		} {
			deepEq(t, listEvents(store.ListEventsParams{Types: c.patterns}), ids(evs, c.want...), fmt.Sprintf("events of types %v", c.patterns))
			deepEq(t, listEvents(store.ListEventsParams{Types: c.patterns, ListParams: store.ListParams{Limit: 1}}),
				ids(evs, c.want...), fmt.Sprintf("events of types %v, pages of 1", c.patterns))
			deepEq(t, listDeliveries(store.ListDeliveriesParams{EventTypes: c.patterns}), ids(dlvs, c.want...),
				fmt.Sprintf("deliveries of event types %v", c.patterns))
		}
		// With a time range: minutes [1, 6) hold types 1 to 5.
		deepEq(t, listEvents(store.ListEventsParams{Types: []string{"*.created"}, Since: h.at(time.Minute), Until: h.at(6 * time.Minute)}),
			ids(evs, "invoice.created", "orderx.created", "order-x.created"), "events of a pattern in a time range")
		deepEq(t, listDeliveries(store.ListDeliveriesParams{Since: h.at(time.Minute), Until: h.at(3 * time.Minute)}),
			ids(dlvs, "order.payment.failed", "invoice.created"), "deliveries in [Since, Until)")
		deepEq(t, listDeliveries(store.ListDeliveriesParams{Until: h.at(time.Minute)}), ids(dlvs, "order.created"),
			"deliveries Until is exclusive")
		deepEq(t, listDeliveries(store.ListDeliveriesParams{EventTypes: []string{"order.*"}, Until: h.at(6 * time.Minute)}),
			ids(dlvs, "order.created", "order.payment.failed"), "deliveries of a pattern until")
	})

	t.Run("ManyTypes", func(t *testing.T) {
		// More types than store.MaxMergedTypes: the filter is no longer
		// resolved to types, and must give the same answers.
		h := setup(t, open)
		app := h.app("")
		n := store.MaxMergedTypes*3/2 + 6 // more than MaxMergedTypes of them *.created
		var created, live []string        // event ids, newest first
		for i := range n {
			typ := fmt.Sprintf("t%03d.created", i)
			if i%3 == 0 {
				typ = fmt.Sprintf("t%03d.updated", i)
			}
			res := h.insert(app.ID, ev{typ: typ, at: h.at(time.Duration(i) * time.Second)})
			if i%3 != 0 {
				created = append([]string{res.Event.ID}, created...)
				if i >= 10 && i < 40 {
					live = append([]string{res.Event.ID}, live...)
				}
			}
		}
		list := func(p store.ListEventsParams) []string {
			t.Helper()
			p.AppID = app.ID
			var out []string
			for range maxPages {
				page, err := h.s.ListEvents(h.ctx, &p)
				must(t, err, fmt.Sprintf("ListEvents %+v", p))
				for _, e := range page.Data {
					out = append(out, e.ID)
				}
				if page.NextCursor == "" {
					return out
				}
				p.Cursor = page.NextCursor
			}
			t.Fatal("too many pages")
			return nil
		}
		deepEq(t, list(store.ListEventsParams{Types: []string{"*.created"}, ListParams: store.ListParams{Limit: 7}}), created, "*.created")
		test := false // h.insert's events are test events
		deepEq(t, list(store.ListEventsParams{Types: []string{"*.created"}, Since: h.at(10 * time.Second), Until: h.at(40 * time.Second),
			Livemode: &test, ListParams: store.ListParams{Limit: 4}}), live, "*.created with every filter")
		deepEq(t, list(store.ListEventsParams{Types: []string{"t001.*", "t002.created"}}), created[len(created)-2:], "few of many types")
	})

	t.Run("ListAttempts", func(t *testing.T) {
		h := setup(t, open)
		app, other := h.app(""), h.app("")
		a, b := h.endpoint(app.ID), h.endpoint(app.ID)
		oep := h.endpoint(other.ID)
		e1 := h.insert(app.ID, ev{id: "e1", endpoints: []string{a.ID, b.ID}})
		e2 := h.insert(app.ID, ev{id: "e2", endpoints: []string{a.ID}})
		o1 := h.insert(other.ID, ev{id: "e1", endpoints: []string{oep.ID}})
		byEp := func(res *store.InsertEventResult, ep string) *hook.Delivery {
			for _, d := range res.Deliveries {
				if d.EndpointID == ep {
					return d
				}
			}
			t.Fatalf("no delivery to %s", ep)
			return nil
		}
		d1a, d1b, d2a := byEp(e1, a.ID), byEp(e1, b.ID), byEp(e2, a.ID)
		// rec records an attempt of d at minute m; the attempts are
		// written in the order of the calls, the oldest first.
		type rec struct {
			d      *hook.Delivery
			event  string
			m      int
			status int
			kind   string
		}
		recs := []rec{
			{d1a, "e1", 0, 0, hook.ErrorKindTimeout},
			{d1b, "e1", 1, 200, ""},
			{d1a, "e1", 2, 503, hook.ErrorKindStatus},
			{d2a, "e2", 3, 404, hook.ErrorKindStatus},
			{d1a, "e1", 4, 0, hook.ErrorKindRefused},
			{d2a, "e2", 5, 301, hook.ErrorKindStatus},
			{d2a, "e2", 6, 204, ""},
		}
		var all []*hook.Attempt // newest first
		for i, r := range recs {
			at := &hook.Attempt{
				ID: hook.NewID("att"), DeliveryID: r.d.ID, Number: i + 1, Trigger: hook.TriggerScheduled,
				StartedAt: h.at(time.Duration(r.m) * time.Minute), Duration: 250 * time.Millisecond,
				ResponseStatus: r.status, ResponseBody: "b", ErrorKind: r.kind, Error: r.kind,
			}
			must(t, h.s.RecordAttempt(h.ctx, &store.RecordAttemptParams{
				Owner: "nobody", Attempt: at, Decision: hook.Decision{Status: hook.DeliveryPending}, Now: at.StartedAt,
			}), "RecordAttempt")
			at.EventID, at.EndpointID = r.event, r.d.EndpointID
			all = append([]*hook.Attempt{at}, all...)
		}
		must(t, h.s.RecordAttempt(h.ctx, &store.RecordAttemptParams{Owner: "nobody", Attempt: &hook.Attempt{
			ID: hook.NewID("att"), DeliveryID: o1.Deliveries[0].ID, Number: 1, Trigger: hook.TriggerScheduled,
			StartedAt: h.now, ResponseStatus: 500, ErrorKind: hook.ErrorKindStatus,
		}, Decision: hook.Decision{Status: hook.DeliveryPending}, Now: h.now}), "RecordAttempt, other app")

		idsOf := func(as []*hook.Attempt) []string {
			out := []string{}
			for _, a := range as {
				out = append(out, a.ID)
			}
			return out
		}
		pick := func(keep func(i int) bool) []string {
			out := []string{}
			for i := range all {
				if keep(len(all) - 1 - i) { // recs index
					out = append(out, all[i].ID)
				}
			}
			return out
		}
		list := func(p store.ListAttemptsParams) []string {
			t.Helper()
			p.AppID = app.ID
			out := []string{}
			for range maxPages {
				page, err := h.s.ListAttempts(h.ctx, &p)
				must(t, err, "ListAttempts")
				out = append(out, idsOf(page.Data)...)
				if page.NextCursor == "" {
					return out
				}
				p.Cursor = page.NextCursor
			}
			t.Fatal("too many pages")
			return nil
		}

		// Every field, newest first.
		page, err := h.s.ListAttempts(h.ctx, &store.ListAttemptsParams{AppID: app.ID})
		must(t, err, "ListAttempts")
		eq(t, len(page.Data), len(all), "attempts")
		for i, got := range page.Data {
			w := all[i]
			eq(t, got.ID, w.ID, "ID, newest first")
			eq(t, got.DeliveryID, w.DeliveryID, "DeliveryID")
			eq(t, got.EventID, w.EventID, "EventID")
			eq(t, got.EndpointID, w.EndpointID, "EndpointID")
			eq(t, got.Number, w.Number, "Number")
			eq(t, got.Trigger, w.Trigger, "Trigger")
			wantTime(t, got.StartedAt, w.StartedAt, "StartedAt")
			eq(t, got.DurationMillis, int64(250), "DurationMillis")
			eq(t, got.Duration, 250*time.Millisecond, "Duration")
			eq(t, got.ResponseStatus, w.ResponseStatus, "ResponseStatus")
			eq(t, got.ResponseBody, "b", "ResponseBody")
			eq(t, got.ErrorKind, w.ErrorKind, "ErrorKind")
			eq(t, got.Error, w.Error, "Error")
		}
		checkPaging(t, reverseIDs(idsOf(all)), func(lp store.ListParams) (*store.Page[*hook.Attempt], error) {
			return h.s.ListAttempts(h.ctx, &store.ListAttemptsParams{ListParams: lp, AppID: app.ID})
		}, func(a *hook.Attempt) string { return a.ID })

		deepEq(t, list(store.ListAttemptsParams{EndpointID: a.ID}), pick(func(i int) bool { return recs[i].d.EndpointID == a.ID }), "EndpointID")
		deepEq(t, list(store.ListAttemptsParams{EndpointID: oep.ID}), []string{}, "another app's endpoint")
		deepEq(t, list(store.ListAttemptsParams{DeliveryID: d1a.ID}), pick(func(i int) bool { return recs[i].d == d1a }), "DeliveryID")
		deepEq(t, list(store.ListAttemptsParams{DeliveryID: o1.Deliveries[0].ID}), []string{}, "another app's delivery")
		deepEq(t, list(store.ListAttemptsParams{EventID: "e2"}), pick(func(i int) bool { return recs[i].event == "e2" }), "EventID")
		deepEq(t, list(store.ListAttemptsParams{EventID: "e1", EndpointID: b.ID}), pick(func(i int) bool { return recs[i].d == d1b }), "EventID and EndpointID")
		for class, in := range map[string]func(int) bool{
			store.StatusClass2xx:   func(s int) bool { return s >= 200 && s < 300 },
			store.StatusClass3xx:   func(s int) bool { return s >= 300 && s < 400 },
			store.StatusClass4xx:   func(s int) bool { return s >= 400 && s < 500 },
			store.StatusClass5xx:   func(s int) bool { return s >= 500 && s < 600 },
			store.StatusClassError: func(s int) bool { return s == 0 },
		} {
			deepEq(t, list(store.ListAttemptsParams{StatusClass: class}), pick(func(i int) bool { return in(recs[i].status) }), "StatusClass "+class)
		}
		_, err = h.s.ListAttempts(h.ctx, &store.ListAttemptsParams{AppID: app.ID, StatusClass: "6xx"})
		wantErr(t, err, hook.EInvalid, "status", "unknown StatusClass")
		deepEq(t, list(store.ListAttemptsParams{ErrorKind: hook.ErrorKindStatus}), pick(func(i int) bool { return recs[i].kind == hook.ErrorKindStatus }), "ErrorKind status")
		deepEq(t, list(store.ListAttemptsParams{ErrorKind: hook.ErrorKindRefused, StatusClass: store.StatusClassError}), pick(func(i int) bool { return i == 4 }), "ErrorKind refused")
		deepEq(t, list(store.ListAttemptsParams{Since: h.at(2 * time.Minute), Until: h.at(5 * time.Minute)}), pick(func(i int) bool { return recs[i].m >= 2 && recs[i].m < 5 }), "[Since, Until)")
		deepEq(t, list(store.ListAttemptsParams{EndpointID: a.ID, StatusClass: store.StatusClass4xx, Since: h.at(time.Minute), ListParams: store.ListParams{Limit: 1}}),
			pick(func(i int) bool { return i == 3 }), "filters together, paged")
	})

	t.Run("RetryDisabled", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		ep := h.endpoint(app.ID)
		res := h.insert(app.ID, ev{endpoints: []string{ep.ID}, claimed: true, owner: "w", lease: h.at(time.Minute)})
		id := res.Deliveries[0].ID
		h.record(attempt{owner: "w", delivery: id, status: 500, sched: 8, number: 8, decision: hook.Decision{Status: hook.DeliveryFailed}})
		off := true
		_, err := h.s.UpdateEndpoint(h.ctx, &store.UpdateEndpointParams{AppID: app.ID, EndpointID: ep.ID, Disabled: &off, Now: h.now})
		must(t, err, "disable")
		before := h.delivery(app.ID, id)

		_, err = h.s.RetryDelivery(h.ctx, &store.RetryDeliveryParams{AppID: app.ID, DeliveryID: id, Now: h.at(time.Hour)})
		wantErr(t, err, hook.EConflict, "", "RetryDelivery of a disabled endpoint")
		n, err := h.s.RecoverEndpoint(h.ctx, &store.RecoverEndpointParams{AppID: app.ID, EndpointID: ep.ID, Since: h.at(-time.Hour), Now: h.at(time.Hour)})
		wantErr(t, err, hook.EConflict, "", "RecoverEndpoint of a disabled endpoint")
		eq(t, n, 0, "recovered")
		after := h.delivery(app.ID, id)
		eq(t, after.Status, hook.DeliveryFailed, "Status unchanged")
		wantTime(t, after.UpdatedAt, before.UpdatedAt, "UpdatedAt unchanged")
		wantNilTime(t, after.NextAttemptAt, "NextAttemptAt unchanged")

		// Enabled again, both work.
		on := false
		_, err = h.s.UpdateEndpoint(h.ctx, &store.UpdateEndpointParams{AppID: app.ID, EndpointID: ep.ID, Disabled: &on, Now: h.now})
		must(t, err, "enable")
		n, err = h.s.RecoverEndpoint(h.ctx, &store.RecoverEndpointParams{AppID: app.ID, EndpointID: ep.ID, Since: h.at(-time.Hour), Now: h.at(time.Hour)})
		must(t, err, "RecoverEndpoint")
		eq(t, n, 1, "recovered")
		_, err = h.s.RetryDelivery(h.ctx, &store.RetryDeliveryParams{AppID: app.ID, DeliveryID: id, Now: h.at(time.Hour)})
		must(t, err, "RetryDelivery")
	})
}

func reverseIDs(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[len(ids)-1-i] = id
	}
	return out
}
