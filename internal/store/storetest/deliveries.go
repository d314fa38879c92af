package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

func testDeliveries(t *testing.T, open Opener) {
	t.Run("GetWithAttempts", func(t *testing.T) {
		h := setup(t, open)
		app, other := h.app(""), h.app("")
		ep := h.endpoint(app.ID)
		res := h.insert(app.ID, ev{endpoints: []string{ep.ID}, claimed: true, owner: "w", lease: h.at(time.Minute)})
		id := res.Deliveries[0].ID

		d := h.delivery(app.ID, id)
		if d.Attempts == nil || len(d.Attempts) != 0 {
			t.Fatalf("Attempts of a new delivery: got %#v, want non-nil empty", d.Attempts)
		}

		// Three attempts: 500, 503, then 200, each claimed in turn.
		var recorded []*hook.Attempt
		recorded = append(recorded, h.record(attempt{owner: "w", delivery: id, number: 1, sched: 1, status: 500,
			at: h.at(time.Second), decision: hook.Decision{Status: hook.DeliveryPending, NextAttemptAt: h.at(10 * time.Second)}}))
		c := h.claim("w", h.at(10*time.Second), 10, 10)
		deepEq(t, jobIDs(c), []string{id}, "claim for attempt 2")
		recorded = append(recorded, h.record(attempt{owner: "w", delivery: id, number: 2, sched: 2, status: 503,
			at: h.at(11 * time.Second), decision: hook.Decision{Status: hook.DeliveryPending, NextAttemptAt: h.at(20 * time.Second)}}))
		c = h.claim("w", h.at(20*time.Second), 10, 10)
		deepEq(t, jobIDs(c), []string{id}, "claim for attempt 3")
		recorded = append(recorded, h.record(attempt{owner: "w", delivery: id, number: 3, sched: 3, status: 200,
			at: h.at(21 * time.Second), decision: hook.Decision{Status: hook.DeliverySucceeded}}))

		d = h.delivery(app.ID, id)
		eq(t, d.Status, hook.DeliverySucceeded, "Status")
		eq(t, d.AttemptCount, 3, "AttemptCount")
		eq(t, d.LastResponseStatus, 200, "LastResponseStatus")
		wantTimePtr(t, d.LastAttemptAt, h.at(21*time.Second), "LastAttemptAt")
		wantNilTime(t, d.NextAttemptAt, "NextAttemptAt")
		eq(t, len(d.Attempts), 3, "attempts")
		for i, a := range d.Attempts {
			w := recorded[i]
			eq(t, a.ID, w.ID, "attempt ID (oldest first)")
			eq(t, a.DeliveryID, id, "attempt DeliveryID")
			eq(t, a.Number, i+1, "attempt Number")
			eq(t, a.Trigger, hook.TriggerScheduled, "attempt Trigger")
			wantTime(t, a.StartedAt, w.StartedAt, "attempt StartedAt")
			eq(t, a.DurationMillis, int64(1234), "attempt DurationMillis")
			eq(t, a.ResponseStatus, w.ResponseStatus, "attempt ResponseStatus")
			eq(t, a.ResponseBody, w.ResponseBody, "attempt ResponseBody")
			eq(t, a.ErrorKind, w.ErrorKind, "attempt ErrorKind")
			eq(t, a.Error, w.Error, "attempt Error")
		}
		eq(t, d.Attempts[2].ErrorKind, "", "success has no error kind")

		_, err := h.s.GetDelivery(h.ctx, other.ID, id)
		wantErr(t, err, hook.ENotFound, "-", "GetDelivery through another app")
		_, err = h.s.GetDelivery(h.ctx, app.ID, hook.NewID("dlv"))
		wantErr(t, err, hook.ENotFound, "-", "GetDelivery unknown")
	})

	t.Run("List", func(t *testing.T) {
		h := setup(t, open)
		app, other := h.app(""), h.app("")
		ep, oep := h.endpoint(app.ID), h.endpoint(other.ID)
		var ids []string
		for range 7 {
			ids = append(ids, h.insert(app.ID, ev{endpoints: []string{ep.ID}}).Deliveries[0].ID)
			h.insert(other.ID, ev{endpoints: []string{oep.ID}})
		}
		checkPaging(t, ids, func(lp store.ListParams) (*store.Page[*hook.Delivery], error) {
			page, err := h.s.ListDeliveries(h.ctx, &store.ListDeliveriesParams{ListParams: lp, AppID: app.ID})
			if err == nil {
				for _, d := range page.Data {
					if len(d.Attempts) != 0 {
						t.Fatalf("listed delivery with attempts")
					}
				}
			}
			return page, err
		}, func(d *hook.Delivery) string { return d.ID })
	})

	t.Run("ListFilters", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		a, b := h.endpoint(app.ID), h.endpoint(app.ID)
		// e1 at minute 0 to a and b; e2 at minute 1 to a; e3 at minute 2 to b.
		// a's delivery of e1 fails; b's of e3 succeeds.
		e1 := h.insert(app.ID, ev{id: "e1", endpoints: []string{a.ID, b.ID}, claimed: true, owner: "w", lease: h.at(time.Hour)})
		e2 := h.insert(app.ID, ev{id: "e2", at: h.at(time.Minute), endpoints: []string{a.ID}})
		e3 := h.insert(app.ID, ev{id: "e3", at: h.at(2 * time.Minute), endpoints: []string{b.ID}, claimed: true, owner: "w", lease: h.at(time.Hour)})
		byEp := func(res *store.InsertEventResult, ep string) string {
			for _, d := range res.Deliveries {
				if d.EndpointID == ep {
					return d.ID
				}
			}
			t.Fatalf("no delivery to %s", ep)
			return ""
		}
		e1a, e1b, e2a, e3b := byEp(e1, a.ID), byEp(e1, b.ID), byEp(e2, a.ID), byEp(e3, b.ID)
		h.record(attempt{owner: "w", delivery: e1a, status: 500, sched: 8, decision: hook.Decision{Status: hook.DeliveryFailed}})
		h.record(attempt{owner: "w", delivery: e3b, status: 200, sched: 1, decision: hook.Decision{Status: hook.DeliverySucceeded}})

		list := func(p store.ListDeliveriesParams) []string {
			t.Helper()
			p.AppID = app.ID
			p.Limit = 1
			var ids []string
			for pages := 0; ; pages++ {
				if pages > maxPages {
					t.Fatalf("paging did not end after %d pages", maxPages)
				}
				page, err := h.s.ListDeliveries(h.ctx, &p)
				must(t, err, "ListDeliveries")
				for _, d := range page.Data {
					ids = append(ids, d.ID)
				}
				if page.NextCursor == "" {
					return ids
				}
				p.Cursor = page.NextCursor
			}
		}
		deepEq(t, sorted(list(store.ListDeliveriesParams{})), sorted([]string{e1a, e1b, e2a, e3b}), "all")
		deepEq(t, list(store.ListDeliveriesParams{Status: hook.DeliveryPending}), []string{e2a, e1b}, "pending")
		deepEq(t, list(store.ListDeliveriesParams{Status: hook.DeliveryFailed}), []string{e1a}, "failed")
		deepEq(t, list(store.ListDeliveriesParams{Status: hook.DeliverySucceeded}), []string{e3b}, "succeeded")
		deepEq(t, list(store.ListDeliveriesParams{EndpointID: a.ID}), []string{e2a, e1a}, "endpoint a")
		deepEq(t, list(store.ListDeliveriesParams{EndpointID: b.ID}), []string{e3b, e1b}, "endpoint b")
		deepEq(t, sorted(list(store.ListDeliveriesParams{EventID: "e1"})), sorted([]string{e1a, e1b}), "event e1")
		deepEq(t, list(store.ListDeliveriesParams{EventID: "e9"}), []string(nil), "unknown event")
		deepEq(t, list(store.ListDeliveriesParams{Since: h.at(time.Minute)}), []string{e3b, e2a}, "since minute 1")
		deepEq(t, list(store.ListDeliveriesParams{EndpointID: b.ID, Status: hook.DeliveryPending, EventID: "e1"}),
			[]string{e1b}, "combined")
		deepEq(t, list(store.ListDeliveriesParams{EndpointID: a.ID, Since: h.at(2 * time.Minute)}), []string(nil), "none")
	})

	t.Run("Retry", func(t *testing.T) {
		h := setup(t, open)
		app, other := h.app(""), h.app("")
		ep := h.endpoint(app.ID)
		retry := func(id string, now time.Time) (*hook.Delivery, error) {
			return h.s.RetryDelivery(h.ctx, &store.RetryDeliveryParams{AppID: app.ID, DeliveryID: id, Now: now})
		}

		// Pending, scheduled for later, not leased: due now, still a
		// scheduled attempt.
		p := h.insert(app.ID, ev{endpoints: []string{ep.ID}, claimed: true, owner: "w", lease: h.at(time.Minute)}).Deliveries[0].ID
		h.record(attempt{owner: "w", delivery: p, status: 500, sched: 1,
			decision: hook.Decision{Status: hook.DeliveryPending, NextAttemptAt: h.at(time.Hour)}})
		d, err := retry(p, h.at(time.Minute))
		must(t, err, "RetryDelivery pending")
		eq(t, d.ID, p, "ID")
		eq(t, d.Status, hook.DeliveryPending, "Status")
		eq(t, d.AttemptCount, 1, "AttemptCount")
		wantTimePtr(t, d.NextAttemptAt, h.at(time.Minute), "NextAttemptAt")
		c := h.claim("w2", h.at(time.Minute), 10, 10)
		deepEq(t, jobIDs(c), []string{p}, "claimable at once")
		eq(t, c.Jobs[0].Manual, false, "a retried pending delivery keeps its schedule")
		eq(t, c.Jobs[0].ScheduledAttempts, 1, "ScheduledAttempts")
		eq(t, c.Jobs[0].AttemptCount, 1, "AttemptCount")

		// Leased right now: a conflict, and nothing changes.
		_, err = retry(p, h.at(time.Minute+time.Second))
		wantErr(t, err, hook.EConflict, "-", "RetryDelivery while leased")
		eq(t, len(h.claim("w3", h.at(time.Minute+time.Second), 10, 10).Jobs), 0, "still leased after the conflict")
		// Once the lease has run out it may be retried.
		d, err = retry(p, h.at(3*time.Minute))
		must(t, err, "RetryDelivery after the lease ran out")
		wantTimePtr(t, d.NextAttemptAt, h.at(3*time.Minute), "NextAttemptAt")
		deepEq(t, jobIDs(h.claim("w4", h.at(3*time.Minute), 10, 10)), []string{p}, "claimable after retry")
		h.record(attempt{owner: "w4", delivery: p, number: 2, sched: 2, status: 200, at: h.at(3 * time.Minute),
			decision: hook.Decision{Status: hook.DeliverySucceeded}})

		// Succeeded and failed: pending again, for one manual attempt.
		for _, final := range []string{hook.DeliverySucceeded, hook.DeliveryFailed} {
			id := h.insert(app.ID, ev{endpoints: []string{ep.ID}, claimed: true, owner: "w", lease: h.at(time.Minute)}).Deliveries[0].ID
			status := 200
			if final == hook.DeliveryFailed {
				status = 400
			}
			h.record(attempt{owner: "w", delivery: id, status: status, sched: 8, number: 8, decision: hook.Decision{Status: final}})
			eq(t, h.delivery(app.ID, id).Status, final, "status before retry")
			now := h.at(10 * time.Minute)
			d, err := retry(id, now)
			must(t, err, "RetryDelivery "+final)
			eq(t, d.Status, hook.DeliveryPending, final+": Status")
			eq(t, d.AttemptCount, 8, final+": AttemptCount kept")
			eq(t, d.LastResponseStatus, status, final+": LastResponseStatus kept")
			wantTimePtr(t, d.NextAttemptAt, now, final+": NextAttemptAt")
			wantTime(t, d.UpdatedAt, now, final+": UpdatedAt")
			c := h.claim("w5", now, 10, 10)
			deepEq(t, jobIDs(c), []string{id}, final+": claimable")
			eq(t, c.Jobs[0].Manual, true, final+": Manual")
			eq(t, c.Jobs[0].AttemptCount, 8, final+": job AttemptCount")
			eq(t, c.Jobs[0].ScheduledAttempts, 8, final+": job ScheduledAttempts")
		}

		_, err = h.s.RetryDelivery(h.ctx, &store.RetryDeliveryParams{AppID: other.ID, DeliveryID: p, Now: h.now})
		wantErr(t, err, hook.ENotFound, "-", "RetryDelivery through another app")
		_, err = retry(hook.NewID("dlv"), h.now)
		wantErr(t, err, hook.ENotFound, "-", "RetryDelivery unknown")
	})

	t.Run("RecoverEndpoint", func(t *testing.T) {
		h := setup(t, open)
		app, other := h.app(""), h.app("")
		ep, ep2 := h.endpoint(app.ID), h.endpoint(app.ID)
		mk := func(at time.Time, endpoint string, final string) string {
			id := h.insert(app.ID, ev{at: at, endpoints: []string{endpoint}, claimed: true, owner: "w", lease: h.at(time.Hour)}).Deliveries[0].ID
			status := 500
			if final == hook.DeliverySucceeded {
				status = 200
			}
			h.record(attempt{owner: "w", delivery: id, status: status, sched: 8, number: 8, at: at,
				decision: hook.Decision{Status: final}})
			return id
		}
		old := mk(h.at(-2*time.Hour), ep.ID, hook.DeliveryFailed)
		f1 := mk(h.at(-time.Hour), ep.ID, hook.DeliveryFailed)
		f2 := mk(h.now, ep.ID, hook.DeliveryFailed)
		ok := mk(h.now, ep.ID, hook.DeliverySucceeded)
		elsewhere := mk(h.now, ep2.ID, hook.DeliveryFailed)
		eq(t, h.pending(), 0, "pending before recover")

		now := h.at(time.Minute)
		n, err := h.s.RecoverEndpoint(h.ctx, &store.RecoverEndpointParams{AppID: app.ID, EndpointID: ep.ID,
			Since: h.at(-time.Hour), Now: now})
		must(t, err, "RecoverEndpoint")
		eq(t, n, 2, "recovered")
		for _, id := range []string{f1, f2} {
			d := h.delivery(app.ID, id)
			eq(t, d.Status, hook.DeliveryPending, "recovered Status")
			wantTimePtr(t, d.NextAttemptAt, now, "recovered NextAttemptAt")
		}
		eq(t, h.delivery(app.ID, old).Status, hook.DeliveryFailed, "older than Since")
		eq(t, h.delivery(app.ID, ok).Status, hook.DeliverySucceeded, "succeeded one")
		eq(t, h.delivery(app.ID, elsewhere).Status, hook.DeliveryFailed, "other endpoint's")
		c := h.claim("w2", now, 10, 10)
		deepEq(t, sorted(jobIDs(c)), sorted([]string{f1, f2}), "claimable after recover")
		for _, j := range c.Jobs {
			eq(t, j.Manual, true, "recovered jobs are manual")
		}

		// Again with no Since: only the old one is still failed.
		n, err = h.s.RecoverEndpoint(h.ctx, &store.RecoverEndpointParams{AppID: app.ID, EndpointID: ep.ID, Now: now})
		must(t, err, "RecoverEndpoint again")
		eq(t, n, 1, "recovered with zero Since (the old one)")

		_, err = h.s.RecoverEndpoint(h.ctx, &store.RecoverEndpointParams{AppID: other.ID, EndpointID: ep2.ID, Now: now})
		wantErr(t, err, hook.ENotFound, "-", "RecoverEndpoint through another app")
		_, err = h.s.RecoverEndpoint(h.ctx, &store.RecoverEndpointParams{AppID: app.ID, EndpointID: hook.NewID("ep"), Now: now})
		wantErr(t, err, hook.ENotFound, "-", "RecoverEndpoint unknown")
		eq(t, h.delivery(app.ID, elsewhere).Status, hook.DeliveryFailed, "untouched by failed recovers")
	})
}
