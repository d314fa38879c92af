package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// testRetention covers the retention purge and payload expunging.
func testRetention(t *testing.T, open Opener) {
	t.Run("Purge", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("a")
		ep := h.endpoint(app.ID)
		day := 24 * time.Hour
		bare := h.insert(app.ID, ev{id: "old-bare", at: h.at(-10 * day)})
		pending := h.insert(app.ID, ev{id: "old-pending", at: h.at(-9 * day), endpoints: []string{ep.ID}})
		done := h.insert(app.ID, ev{id: "old-done", at: h.at(-8 * day), endpoints: []string{ep.ID}, claimed: true, owner: "n", lease: h.at(time.Hour)})
		h.record(attempt{owner: "n", delivery: done.Deliveries[0].ID, endpoint: ep.ID, status: 200,
			decision: hook.Decision{Status: hook.DeliverySucceeded}, at: h.at(-8 * day)})
		eq(t, h.delivery(app.ID, done.Deliveries[0].ID).Status, hook.DeliverySucceeded, "finished delivery")
		h.insert(app.ID, ev{id: "recent", at: h.at(-time.Hour), endpoints: []string{ep.ID}})

		res, err := h.s.PurgeEvents(h.ctx, &store.PurgeEventsParams{Before: h.at(-2 * day), Limit: 100})
		must(t, err, "PurgeEvents")
		eq(t, res.Deleted, 2, "deleted")
		eq(t, res.Done, true, "done")
		for _, id := range []string{bare.Event.ID, done.Event.ID} {
			_, err := h.s.GetEvent(h.ctx, app.ID, id)
			wantErr(t, err, hook.ENotFound, "-", "GetEvent of purged "+id)
		}
		_, err = h.s.GetDelivery(h.ctx, app.ID, done.Deliveries[0].ID)
		wantErr(t, err, hook.ENotFound, "-", "GetDelivery of a purged event's delivery")
		for _, id := range []string{pending.Event.ID, "recent"} {
			_, err := h.s.GetEvent(h.ctx, app.ID, id)
			must(t, err, "GetEvent of kept "+id)
		}
		eq(t, h.delivery(app.ID, pending.Deliveries[0].ID).Status, hook.DeliveryPending, "kept pending delivery")

		again, err := h.s.PurgeEvents(h.ctx, &store.PurgeEventsParams{Before: h.at(-2 * day), Limit: 100})
		must(t, err, "PurgeEvents again")
		eq(t, again.Deleted, 0, "deleted again")

		_, err = h.s.PurgeEvents(h.ctx, &store.PurgeEventsParams{Before: h.now, Limit: 1, Cursor: "not a cursor"})
		wantErr(t, err, hook.EInvalid, "cursor", "PurgeEvents with a bad cursor")
	})

	t.Run("PurgeInBatches", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("a")
		const n = 7
		for i := range n {
			h.insert(app.ID, ev{at: h.at(time.Duration(i-100) * time.Minute)})
		}
		h.insert(app.ID, ev{id: "new", at: h.now})
		total, batches, cursor := 0, 0, ""
		for batches < maxPages {
			res, err := h.s.PurgeEvents(h.ctx, &store.PurgeEventsParams{Before: h.at(-time.Minute), Limit: 2, Cursor: cursor})
			must(t, err, "PurgeEvents")
			if res.Deleted > 2 {
				t.Fatalf("a batch of 2 deleted %d", res.Deleted)
			}
			total += res.Deleted
			batches++
			cursor = res.Cursor
			if res.Done {
				break
			}
		}
		eq(t, total, n, "deleted in all")
		if batches < 4 {
			t.Fatalf("%d batches of 2 for %d events", batches, n)
		}
		page, err := h.s.ListEvents(h.ctx, &store.ListEventsParams{AppID: app.ID})
		must(t, err, "ListEvents")
		eq(t, len(page.Data), 1, "events left")
		eq(t, page.Data[0].ID, "new", "event left")
	})

	t.Run("Expunge", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("a")
		ep := h.endpoint(app.ID)
		_, err := h.s.InsertEvent(h.ctx, &store.InsertEventParams{
			Event: &hook.Event{ID: "e1", AppID: app.ID, Type: "user.updated", Data: json.RawMessage(`{"email":"a@b.c"}`),
				PreviousAttributes: json.RawMessage(`{"email":"old@b.c"}`), Livemode: true, CreatedAt: h.now},
			Deliveries: []store.NewDelivery{{ID: hook.NewID("dlv"), EndpointID: ep.ID}},
		})
		must(t, err, "InsertEvent")
		got, err := h.s.GetEvent(h.ctx, app.ID, "e1")
		must(t, err, "GetEvent")
		if got.ExpungedAt != nil {
			t.Fatalf("a new event is expunged at %v", got.ExpungedAt)
		}
		ex, err := h.s.ExpungeEvent(h.ctx, &store.ExpungeEventParams{AppID: app.ID, EventID: "e1", Now: h.at(time.Second)})
		must(t, err, "ExpungeEvent")
		check := func(e *hook.Event, what string) {
			t.Helper()
			wantJSON(t, e.Data, `{}`, what+" Data")
			wantJSON(t, e.PreviousAttributes, "", what+" PreviousAttributes")
			wantTimePtr(t, e.ExpungedAt, h.at(time.Second), what+" ExpungedAt")
			eq(t, e.Type, "user.updated", what+" Type")
		}
		check(ex, "expunged")
		got, err = h.s.GetEvent(h.ctx, app.ID, "e1")
		must(t, err, "GetEvent after")
		check(got, "stored")
		res := h.claim("n", h.at(time.Minute), 10, 10)
		eq(t, len(res.Jobs), 1, "claimed")
		check(res.Jobs[0].Event, "claimed")
		// Twice keeps the first time.
		ex, err = h.s.ExpungeEvent(h.ctx, &store.ExpungeEventParams{AppID: app.ID, EventID: "e1", Now: h.at(time.Hour)})
		must(t, err, "ExpungeEvent again")
		check(ex, "expunged twice")
		_, err = h.s.ExpungeEvent(h.ctx, &store.ExpungeEventParams{AppID: app.ID, EventID: "nope", Now: h.now})
		wantErr(t, err, hook.ENotFound, "-", "ExpungeEvent unknown")
		other := h.app("b")
		_, err = h.s.ExpungeEvent(h.ctx, &store.ExpungeEventParams{AppID: other.ID, EventID: "e1", Now: h.now})
		wantErr(t, err, hook.ENotFound, "-", "ExpungeEvent through another app")
	})
}
