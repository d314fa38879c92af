package storetest

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

func testEvents(t *testing.T, open Opener) {
	t.Run("InsertGet", func(t *testing.T) {
		h := setup(t, open)
		app, other := h.app(""), h.app("")
		a, b := h.endpoint(app.ID), h.endpoint(app.ID)
		at := h.at(-time.Minute + 456*time.Microsecond)
		data := `{"order":{"id":"o_1","total":12.5,"items":[1,2]},"note":"ünïcode"}`
		res := h.insert(app.ID, ev{id: "evt-ext:1", typ: "order.paid", data: data, at: at, endpoints: []string{a.ID, b.ID}})
		eq(t, res.Created, true, "Created")
		check := func(e *hook.Event, what string) {
			t.Helper()
			eq(t, e.ID, "evt-ext:1", what+" ID")
			eq(t, e.AppID, app.ID, what+" AppID")
			eq(t, e.Type, "order.paid", what+" Type")
			wantJSON(t, e.Data, data, what+" Data")
			wantTime(t, e.CreatedAt, at, what+" CreatedAt")
		}
		check(res.Event, "returned")
		got, err := h.s.GetEvent(h.ctx, app.ID, "evt-ext:1")
		must(t, err, "GetEvent")
		check(got, "stored")

		eq(t, len(res.Deliveries), 2, "deliveries")
		eps := map[string]bool{}
		for _, d := range res.Deliveries {
			eps[d.EndpointID] = true
			for what, dd := range map[string]*hook.Delivery{"returned": d, "stored": h.delivery(app.ID, d.ID)} {
				eq(t, dd.AppID, app.ID, what+" delivery AppID")
				eq(t, dd.EventID, "evt-ext:1", what+" delivery EventID")
				eq(t, dd.EventType, "order.paid", what+" delivery EventType")
				eq(t, dd.Status, hook.DeliveryPending, what+" delivery Status")
				eq(t, dd.AttemptCount, 0, what+" delivery AttemptCount")
				eq(t, dd.LastResponseStatus, 0, what+" delivery LastResponseStatus")
				wantTimePtr(t, dd.NextAttemptAt, at, what+" delivery NextAttemptAt")
				wantNilTime(t, dd.LastAttemptAt, what+" delivery LastAttemptAt")
				wantTime(t, dd.CreatedAt, at, what+" delivery CreatedAt")
			}
		}
		deepEq(t, eps, map[string]bool{a.ID: true, b.ID: true}, "delivery endpoints")

		_, err = h.s.GetEvent(h.ctx, other.ID, "evt-ext:1")
		wantErr(t, err, hook.ENotFound, "-", "GetEvent through another app")
		_, err = h.s.GetEvent(h.ctx, app.ID, "evt-missing")
		wantErr(t, err, hook.ENotFound, "-", "GetEvent unknown")

		// The same provider id in another app is another event.
		oep := h.endpoint(other.ID)
		ores := h.insert(other.ID, ev{id: "evt-ext:1", endpoints: []string{oep.ID}})
		eq(t, ores.Created, true, "Created in the other app")
		got, err = h.s.GetEvent(h.ctx, app.ID, "evt-ext:1")
		must(t, err, "GetEvent")
		eq(t, got.Type, "order.paid", "first app's event untouched")

		// An event with no deliveries.
		none := h.insert(app.ID, ev{})
		eq(t, none.Created, true, "Created without deliveries")
		eq(t, len(none.Deliveries), 0, "deliveries")
		eq(t, h.pending(), 3, "pending")
	})

	t.Run("Idempotent", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		a, b := h.endpoint(app.ID), h.endpoint(app.ID)
		first := h.insert(app.ID, ev{id: "same", typ: "order.created", data: `{"v":1}`, endpoints: []string{a.ID}})
		eq(t, first.Created, true, "first Created")
		again := h.insert(app.ID, ev{id: "same", typ: "order.updated", data: `{"v":2}`, at: h.at(time.Hour),
			endpoints: []string{a.ID, b.ID}})
		eq(t, again.Created, false, "replay Created")
		eq(t, len(again.Deliveries), 0, "replay deliveries")
		eq(t, again.Event.Type, "order.created", "replay returns the stored type")
		wantJSON(t, again.Event.Data, `{"v":1}`, "replay returns the stored data")
		wantTime(t, again.Event.CreatedAt, h.now, "replay returns the stored time")
		eq(t, again.Event.ID, "same", "replay ID")
		eq(t, again.Event.AppID, app.ID, "replay AppID")
		page, err := h.s.ListDeliveries(h.ctx, &store.ListDeliveriesParams{AppID: app.ID})
		must(t, err, "ListDeliveries")
		eq(t, len(page.Data), 1, "deliveries after replay")
		evs, err := h.s.ListEvents(h.ctx, &store.ListEventsParams{AppID: app.ID})
		must(t, err, "ListEvents")
		eq(t, len(evs.Data), 1, "events after replay")
	})

	t.Run("IdempotentRace", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		a, b := h.endpoint(app.ID), h.endpoint(app.ID)
		const n = 20
		var (
			wg      sync.WaitGroup
			results = make([]*store.InsertEventResult, n)
			errs    = make([]error, n)
			start   = make(chan struct{})
		)
		for i := range n {
			wg.Go(func() {
				<-start
				results[i], errs[i] = h.insertErr(app.ID, ev{id: "raced", endpoints: []string{a.ID, b.ID}})
			})
		}
		close(start)
		wg.Wait()
		created := 0
		for i := range n {
			must(t, errs[i], "InsertEvent in the race")
			if results[i].Created {
				created++
				eq(t, len(results[i].Deliveries), 2, "deliveries of the created one")
			} else {
				eq(t, len(results[i].Deliveries), 0, "deliveries of a replay")
			}
			eq(t, results[i].Event.ID, "raced", "event ID")
		}
		eq(t, created, 1, "inserts that created the event")
		evs, err := h.s.ListEvents(h.ctx, &store.ListEventsParams{AppID: app.ID})
		must(t, err, "ListEvents")
		eq(t, len(evs.Data), 1, "events")
		page, err := h.s.ListDeliveries(h.ctx, &store.ListDeliveriesParams{AppID: app.ID, EventID: "raced"})
		must(t, err, "ListDeliveries")
		eq(t, len(page.Data), 2, "deliveries")
		eq(t, h.pending(), 2, "pending")
	})

	t.Run("InsertErrors", func(t *testing.T) {
		h := setup(t, open)
		app, other := h.app(""), h.app("")
		ep, oep := h.endpoint(app.ID), h.endpoint(other.ID)
		_, err := h.insertErr(hook.NewID("app"), ev{id: "e1"})
		wantErr(t, err, hook.ENotFound, "-", "InsertEvent to an unknown app")

		_, err = h.insertErr(app.ID, ev{id: "e2", endpoints: []string{ep.ID, hook.NewID("ep")}})
		wantErr(t, err, hook.ENotFound, "-", "InsertEvent with an unknown endpoint")
		_, err = h.s.GetEvent(h.ctx, app.ID, "e2")
		wantErr(t, err, hook.ENotFound, "-", "the event of a failed insert")

		_, err = h.insertErr(app.ID, ev{id: "e3", endpoints: []string{oep.ID}})
		wantErr(t, err, hook.ENotFound, "-", "InsertEvent with another app's endpoint")
		_, err = h.s.GetEvent(h.ctx, app.ID, "e3")
		wantErr(t, err, hook.ENotFound, "-", "the event of a failed insert")
		eq(t, h.pending(), 0, "pending after failed inserts")
		// A failed insert leaves the id free.
		res := h.insert(app.ID, ev{id: "e2", endpoints: []string{ep.ID}})
		eq(t, res.Created, true, "Created after a failed insert")
	})

	t.Run("List", func(t *testing.T) {
		h := setup(t, open)
		app, other := h.app(""), h.app("")
		var ids []string
		for i := range 7 {
			ids = append(ids, h.insert(app.ID, ev{at: h.at(time.Duration(i) * time.Minute)}).Event.ID)
		}
		h.insert(other.ID, ev{})
		checkPaging(t, ids, func(lp store.ListParams) (*store.Page[*hook.Event], error) {
			return h.s.ListEvents(h.ctx, &store.ListEventsParams{ListParams: lp, AppID: app.ID})
		}, func(e *hook.Event) string { return e.ID })
	})

	t.Run("ListFilters", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		// Events at minutes 0..9, types alternating created/paid.
		var created, paid []string
		for i := range 10 {
			typ := "order.created"
			if i%2 == 1 {
				typ = "order.paid"
			}
			id := h.insert(app.ID, ev{typ: typ, at: h.at(time.Duration(i) * time.Minute)}).Event.ID
			if typ == "order.created" {
				created = append([]string{id}, created...)
			} else {
				paid = append([]string{id}, paid...)
			}
		}
		list := func(p store.ListEventsParams) []string {
			t.Helper()
			p.AppID = app.ID
			var ids []string
			for pages := 0; ; pages++ {
				if pages > maxPages {
					t.Fatalf("paging did not end after %d pages", maxPages)
				}
				page, err := h.s.ListEvents(h.ctx, &p)
				must(t, err, "ListEvents")
				for _, e := range page.Data {
					ids = append(ids, e.ID)
				}
				if page.NextCursor == "" {
					return ids
				}
				p.Cursor = page.NextCursor
			}
		}
		deepEq(t, list(store.ListEventsParams{Types: []string{"order.created"}}), created, "Type filter")
		deepEq(t, list(store.ListEventsParams{Types: []string{"order.paid"}, ListParams: store.ListParams{Limit: 2}}), paid, "Type filter, paged")
		deepEq(t, list(store.ListEventsParams{Types: []string{"order.none"}}), []string(nil), "Type with no events")
		// [minute 4, minute 8): events 4..7; created ones are 4 and 6.
		deepEq(t, list(store.ListEventsParams{Since: h.at(4 * time.Minute), Until: h.at(8 * time.Minute)}),
			[]string{paid[1], created[1], paid[2], created[2]}, "Since and Until")
		deepEq(t, list(store.ListEventsParams{Since: h.at(8 * time.Minute)}), []string{paid[0], created[0]}, "Since")
		deepEq(t, list(store.ListEventsParams{Until: h.at(time.Minute)}), []string{created[4]}, "Until is exclusive")
		deepEq(t, list(store.ListEventsParams{Types: []string{"order.created"}, Since: h.at(3 * time.Minute), Until: h.at(7 * time.Minute),
			ListParams: store.ListParams{Limit: 1}}), []string{created[1], created[2]}, "all filters, paged")
	})

	t.Run("DataRoundTrip", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		for _, data := range []string{`[]`, `"text"`, `123`, `{"nested":{"a":[{"b":null}]},"t":true}`} {
			res := h.insert(app.ID, ev{data: data})
			got, err := h.s.GetEvent(h.ctx, app.ID, res.Event.ID)
			must(t, err, "GetEvent")
			wantJSON(t, got.Data, data, "Data")
			if !json.Valid(got.Data) {
				t.Fatalf("Data %q is not valid JSON", got.Data)
			}
		}
	})
}
