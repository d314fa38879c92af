package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// testRetryFailed covers RetryFailedDeliveries: which failed deliveries
// its filters pick, its limit, and disabled endpoints.
func testRetryFailed(t *testing.T, open Opener) {
	// fixture: an app with endpoints a and b (enabled) and c (disabled
	// once its delivery failed), and another app.
	type fixture struct {
		*h
		app, other *hook.App
		a, b, c    *hook.Endpoint
	}
	newFixture := func(t *testing.T) *fixture {
		f := &fixture{h: setup(t, open)}
		f.app, f.other = f.h.app(""), f.h.app("")
		f.a, f.b, f.c = f.endpoint(f.app.ID), f.endpoint(f.app.ID), f.endpoint(f.app.ID)
		return f
	}
	// mk inserts an event of type typ created at at, with one delivery to
	// each endpoint, and records a final attempt with status final.
	mk := func(f *fixture, appID, typ string, at time.Time, final string, endpoints ...string) *store.InsertEventResult {
		f.t.Helper()
		res := f.insert(appID, ev{typ: typ, at: at, endpoints: endpoints, claimed: true, owner: "w", lease: at.Add(time.Hour)})
		status := 500
		if final == hook.DeliverySucceeded {
			status = 200
		}
		for _, d := range res.Deliveries {
			f.record(attempt{owner: "w", delivery: d.ID, status: status, sched: 8, number: 8, at: at,
				decision: hook.Decision{Status: final}})
		}
		return res
	}
	retry := func(f *fixture, p store.RetryFailedDeliveriesParams) *store.RetryFailedResult {
		f.t.Helper()
		if p.AppID == "" {
			p.AppID = f.app.ID
		}
		if p.Now.IsZero() {
			p.Now = f.at(time.Minute)
		}
		res, err := f.s.RetryFailedDeliveries(f.ctx, &p)
		must(f.t, err, "RetryFailedDeliveries")
		return res
	}
	status := func(f *fixture, ids ...string) []string {
		f.t.Helper()
		out := make([]string, len(ids))
		for i, id := range ids {
			out[i] = f.delivery(f.app.ID, id).Status
		}
		return out
	}
	repeat := func(s string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = s
		}
		return out
	}

	t.Run("Filters", func(t *testing.T) {
		f := newFixture(t)
		both := mk(f, f.app.ID, "order.created", f.at(-2*time.Hour), hook.DeliveryFailed, f.a.ID, f.b.ID)
		a1, b1 := both.Deliveries[0].ID, both.Deliveries[1].ID
		a2 := mk(f, f.app.ID, "invoice.paid", f.at(-time.Hour), hook.DeliveryFailed, f.a.ID).Deliveries[0].ID
		b2 := mk(f, f.app.ID, "order.shipped", f.now, hook.DeliveryFailed, f.b.ID).Deliveries[0].ID
		ok := mk(f, f.app.ID, "order.created", f.now, hook.DeliverySucceeded, f.a.ID).Deliveries[0].ID
		pend := f.insert(f.app.ID, ev{endpoints: []string{f.a.ID}}).Deliveries[0].ID
		oep := f.endpoint(f.other.ID)
		elsewhere := mk(f, f.other.ID, "order.created", f.now, hook.DeliveryFailed, oep.ID).Deliveries[0].ID
		all := []string{a1, b1, a2, b2}

		// Nothing matches: nothing changes.
		res := retry(f, store.RetryFailedDeliveriesParams{EventTypes: []string{"user.*"}})
		deepEq(t, *res, store.RetryFailedResult{}, "no match")
		res = retry(f, store.RetryFailedDeliveriesParams{EventID: "evt_unknown"})
		deepEq(t, *res, store.RetryFailedResult{}, "unknown event")
		res = retry(f, store.RetryFailedDeliveriesParams{Since: f.at(-90 * time.Minute), Until: f.at(-80 * time.Minute)})
		deepEq(t, *res, store.RetryFailedResult{}, "empty window")
		deepEq(t, status(f, all...), repeat(hook.DeliveryFailed, 4), "untouched")

		// One endpoint, then a type pattern with a window, then an event.
		now := f.at(time.Minute)
		res = retry(f, store.RetryFailedDeliveriesParams{EndpointID: f.a.ID, Now: now})
		deepEq(t, *res, store.RetryFailedResult{Retried: 2}, "endpoint a")
		deepEq(t, status(f, all...), []string{hook.DeliveryPending, hook.DeliveryFailed, hook.DeliveryPending, hook.DeliveryFailed}, "endpoint a: statuses")
		for _, id := range []string{a1, a2} {
			d := f.delivery(f.app.ID, id)
			wantTimePtr(t, d.NextAttemptAt, now, "retried NextAttemptAt")
			wantTime(t, d.UpdatedAt, now, "retried UpdatedAt")
		}
		c := f.claim("w2", now, 10, 10)
		deepEq(t, sorted(jobIDs(c)), sorted([]string{a1, a2, pend}), "claimable after retry")
		for _, j := range c.Jobs {
			eq(t, j.Manual, j.DeliveryID != pend, "Manual of "+j.DeliveryID)
		}

		res = retry(f, store.RetryFailedDeliveriesParams{EventTypes: []string{"order.*"}, Since: f.at(-time.Hour), Until: f.at(time.Second)})
		deepEq(t, *res, store.RetryFailedResult{Retried: 1}, "order.* in [-1h, now]")
		eq(t, f.delivery(f.app.ID, b2).Status, hook.DeliveryPending, "b2 retried")
		eq(t, f.delivery(f.app.ID, b1).Status, hook.DeliveryFailed, "b1 before since")

		res = retry(f, store.RetryFailedDeliveriesParams{EventID: both.Event.ID, EventTypes: []string{"order.created", "x.y"}})
		deepEq(t, *res, store.RetryFailedResult{Retried: 1}, "by event")
		eq(t, f.delivery(f.app.ID, b1).Status, hook.DeliveryPending, "b1 retried")
		eq(t, f.delivery(f.app.ID, ok).Status, hook.DeliverySucceeded, "succeeded one untouched")
		eq(t, f.delivery(f.other.ID, elsewhere).Status, hook.DeliveryFailed, "other app's untouched")

		// Another app's endpoint filters to nothing.
		res = retry(f, store.RetryFailedDeliveriesParams{AppID: f.app.ID, EndpointID: oep.ID})
		deepEq(t, *res, store.RetryFailedResult{}, "other app's endpoint")
		eq(t, f.delivery(f.other.ID, elsewhere).Status, hook.DeliveryFailed, "other app's still untouched")
	})

	t.Run("LimitAndDisabled", func(t *testing.T) {
		f := newFixture(t)
		var ids []string
		for i := range 5 {
			ids = append(ids, mk(f, f.app.ID, "", f.at(time.Duration(i)*time.Second), hook.DeliveryFailed, f.a.ID).Deliveries[0].ID)
		}
		var cs []string
		for i := range 3 {
			cs = append(cs, mk(f, f.app.ID, "", f.at(time.Duration(i)*time.Second), hook.DeliveryFailed, f.c.ID).Deliveries[0].ID)
		}
		off := true
		_, err := f.s.UpdateEndpoint(f.ctx, &store.UpdateEndpointParams{AppID: f.app.ID, EndpointID: f.c.ID, Disabled: &off, Now: f.now})
		must(t, err, "disable c")

		res := retry(f, store.RetryFailedDeliveriesParams{Limit: 2})
		deepEq(t, *res, store.RetryFailedResult{Retried: 2, Truncated: true, SkippedDisabled: 2}, "first page of 2")
		deepEq(t, status(f, ids...), []string{hook.DeliveryPending, hook.DeliveryPending, hook.DeliveryFailed, hook.DeliveryFailed, hook.DeliveryFailed}, "oldest first")
		res = retry(f, store.RetryFailedDeliveriesParams{Limit: 2})
		deepEq(t, *res, store.RetryFailedResult{Retried: 2, Truncated: true, SkippedDisabled: 2}, "second page of 2")
		res = retry(f, store.RetryFailedDeliveriesParams{Limit: 2})
		deepEq(t, *res, store.RetryFailedResult{Retried: 1, SkippedDisabled: 2}, "last page")
		res = retry(f, store.RetryFailedDeliveriesParams{Limit: 3})
		deepEq(t, *res, store.RetryFailedResult{SkippedDisabled: 3}, "only disabled ones left")
		deepEq(t, status(f, ids...), repeat(hook.DeliveryPending, 5), "all of a retried")
		deepEq(t, status(f, cs...), repeat(hook.DeliveryFailed, 3), "c's left failed")

		// Enabled again, c's are retried.
		on := false
		_, err = f.s.UpdateEndpoint(f.ctx, &store.UpdateEndpointParams{AppID: f.app.ID, EndpointID: f.c.ID, Disabled: &on, Now: f.now})
		must(t, err, "enable c")
		res = retry(f, store.RetryFailedDeliveriesParams{EndpointID: f.c.ID})
		deepEq(t, *res, store.RetryFailedResult{Retried: 3}, "c enabled")
	})

	t.Run("ExactlyTheLimit", func(t *testing.T) {
		f := newFixture(t)
		for i := range 2 {
			mk(f, f.app.ID, "", f.at(time.Duration(i)*time.Second), hook.DeliveryFailed, f.b.ID)
		}
		res := retry(f, store.RetryFailedDeliveriesParams{Limit: 2})
		deepEq(t, *res, store.RetryFailedResult{Retried: 2}, "exactly the limit: not truncated")
	})
}
