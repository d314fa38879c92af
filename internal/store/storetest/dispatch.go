package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

func testClaim(t *testing.T, open Opener) {
	t.Run("Empty", func(t *testing.T) {
		h := setup(t, open)
		c := h.claim("w", h.now, 10, 10)
		eq(t, len(c.Jobs), 0, "jobs of an empty store")
		eq(t, len(c.Endpoints), 0, "endpoints of an empty store")
	})

	t.Run("Basic", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		a := h.endpoint(app.ID, func(p *store.CreateEndpointParams) {
			p.URL = "https://a.example.com/in"
			p.Headers = map[string]string{"X-Token": "t"}
		})
		b := h.endpoint(app.ID)
		e1 := h.insert(app.ID, ev{id: "e1", typ: "order.paid", data: `{"x":1}`, endpoints: []string{a.ID, b.ID}})
		e2 := h.insert(app.ID, ev{id: "e2", at: h.at(time.Second), endpoints: []string{a.ID}})

		c := h.claim("w1", h.at(-time.Millisecond), 10, 10)
		eq(t, len(c.Jobs), 0, "jobs not yet due")

		c = h.claim("w1", h.now, 10, 10)
		wantIDs := sorted([]string{e1.Deliveries[0].ID, e1.Deliveries[1].ID})
		deepEq(t, sorted(jobIDs(c)), wantIDs, "due jobs")
		if c.Jobs[0].Event != c.Jobs[1].Event {
			t.Fatal("jobs of one event do not share its *hook.Event")
		}
		e := c.Jobs[0].Event
		eq(t, e.ID, "e1", "Event.ID")
		eq(t, e.AppID, app.ID, "Event.AppID")
		eq(t, e.Type, "order.paid", "Event.Type")
		wantJSON(t, e.Data, `{"x":1}`, "Event.Data")
		wantTime(t, e.CreatedAt, h.now, "Event.CreatedAt")
		for _, j := range c.Jobs {
			eq(t, j.AttemptCount, 0, "AttemptCount")
			eq(t, j.ScheduledAttempts, 0, "ScheduledAttempts")
			eq(t, j.Manual, false, "Manual")
		}
		eq(t, len(c.Endpoints), 2, "endpoints")
		ga := c.Endpoints[a.ID]
		eq(t, ga.URL, "https://a.example.com/in", "endpoint URL")
		eq(t, ga.Secret, a.Secret, "endpoint Secret")
		eq(t, ga.AppID, app.ID, "endpoint AppID")
		wantMap(t, ga.Headers, map[string]string{"X-Token": "t"}, "endpoint Headers")
		eq(t, c.Endpoints[b.ID].Secret, b.Secret, "endpoint b Secret")

		// Leased: not claimed again, by anyone, until the lease runs out.
		c = h.claim("w2", h.at(time.Second), 10, 10)
		deepEq(t, jobIDs(c), []string{e2.Deliveries[0].ID}, "only the newly due one")
		c = h.claim("w3", h.at(time.Minute-time.Millisecond), 10, 10)
		eq(t, len(c.Jobs), 0, "all leased")
		// w1's lease ran out at now+1m; w2's runs to now+1m+1s.
		c = h.claim("w3", h.at(time.Minute), 10, 10)
		deepEq(t, sorted(jobIDs(c)), wantIDs, "claimed again once the lease ran out")
		eq(t, h.pending(), 3, "pending")
	})

	t.Run("ClaimedAtInsert", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		ep := h.endpoint(app.ID)
		res := h.insert(app.ID, ev{endpoints: []string{ep.ID}, claimed: true, owner: "ingest", lease: h.at(30 * time.Second)})
		d := res.Deliveries[0]
		eq(t, d.Status, hook.DeliveryPending, "Status")
		wantTimePtr(t, d.NextAttemptAt, h.now, "NextAttemptAt")
		eq(t, len(h.claim("w", h.now, 10, 10).Jobs), 0, "leased at insert")
		eq(t, len(h.claim("w", h.at(30*time.Second-time.Millisecond), 10, 10).Jobs), 0, "still leased")
		next, ok, err := h.s.NextDue(h.ctx)
		must(t, err, "NextDue")
		eq(t, ok, true, "NextDue ok")
		wantTime(t, next, h.at(30*time.Second), "NextDue is the lease's end")
		c := h.claim("w", h.at(30*time.Second), 10, 10)
		deepEq(t, jobIDs(c), []string{d.ID}, "claimable once the lease ran out")
		h.record(attempt{owner: "w", delivery: d.ID, status: 200, sched: 1, decision: hook.Decision{Status: hook.DeliverySucceeded}})

		// Unclaimed deliveries of a mixed insert are claimable at once.
		mixed := &store.InsertEventParams{
			Event: &hook.Event{ID: "mixed", AppID: app.ID, Type: "a.b", Data: []byte(`{}`), CreatedAt: h.at(time.Hour)},
			Deliveries: []store.NewDelivery{
				{ID: hook.NewID("dlv"), EndpointID: ep.ID, Claimed: true},
				{ID: hook.NewID("dlv"), EndpointID: ep.ID},
			},
			Owner: "ingest", LeaseUntil: h.at(2 * time.Hour),
		}
		_, err = h.s.InsertEvent(h.ctx, mixed)
		must(t, err, "InsertEvent")
		c = h.claim("w", h.at(time.Hour), 10, 10)
		deepEq(t, jobIDs(c), []string{mixed.Deliveries[1].ID}, "the unclaimed one")
	})

	t.Run("LimitAndPerEndpoint", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		all := map[string]bool{}
		for range 3 {
			ep := h.endpoint(app.ID)
			for _, id := range h.due(app.ID, ep.ID, 4, h.at(-time.Minute), time.Second) {
				all[id] = true
			}
		}
		c := h.claim("w", h.now, 5, 2)
		eq(t, len(c.Jobs), 5, "Limit")
		for ep, n := range countBy(c) {
			if n > 2 {
				t.Fatalf("endpoint %s got %d jobs, PerEndpoint is 2", ep, n)
			}
		}
		seen := map[string]bool{}
		for _, id := range jobIDs(c) {
			seen[id] = true
		}
		c = h.claim("w", h.now, 100, 100)
		eq(t, len(c.Jobs), 7, "the rest")
		for _, id := range jobIDs(c) {
			if seen[id] {
				t.Fatalf("delivery %s claimed twice", id)
			}
			seen[id] = true
		}
		deepEq(t, seen, all, "every delivery claimed once")
		c = h.claim("w", h.at(30*time.Second), 1, 1)
		eq(t, len(c.Jobs), 0, "none left")
	})

	t.Run("OldestDueFirst", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		ep := h.endpoint(app.ID)
		mid := h.insert(app.ID, ev{at: h.at(-2 * time.Second), endpoints: []string{ep.ID}}).Deliveries[0].ID
		oldest := h.insert(app.ID, ev{at: h.at(-3 * time.Second), endpoints: []string{ep.ID}}).Deliveries[0].ID
		h.insert(app.ID, ev{at: h.at(-1 * time.Second), endpoints: []string{ep.ID}})
		c := h.claim("w", h.now, 10, 2)
		deepEq(t, sorted(jobIDs(c)), sorted([]string{oldest, mid}), "the two oldest due")
	})

	t.Run("Exclude", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		a, b, x := h.endpoint(app.ID), h.endpoint(app.ID), h.endpoint(app.ID)
		da := h.due(app.ID, a.ID, 2, h.now, 0)
		db := h.due(app.ID, b.ID, 2, h.now, 0)
		dx := h.due(app.ID, x.ID, 1, h.now, 0)
		c := h.claim("w", h.now, 10, 10, a.ID, x.ID)
		deepEq(t, sorted(jobIDs(c)), sorted(db), "without the excluded endpoints")
		if _, ok := c.Endpoints[a.ID]; ok {
			t.Fatal("an excluded endpoint is in Endpoints")
		}
		c = h.claim("w", h.now, 10, 10)
		deepEq(t, sorted(jobIDs(c)), sorted(append(da, dx...)), "the rest")
	})

	t.Run("DisabledEndpoints", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		on, off := h.endpoint(app.ID), h.endpoint(app.ID, disabled)
		don := h.due(app.ID, on.ID, 1, h.now, 0)
		doff := h.due(app.ID, off.ID, 2, h.at(-time.Hour), time.Second)
		c := h.claim("w", h.now, 10, 10)
		deepEq(t, jobIDs(c), don, "only the enabled endpoint's")
		next, ok, err := h.s.NextDue(h.ctx)
		must(t, err, "NextDue")
		eq(t, ok, true, "NextDue ok")
		wantTime(t, next, h.at(time.Minute), "NextDue ignores the disabled endpoint")

		no := false
		_, err = h.s.UpdateEndpoint(h.ctx, &store.UpdateEndpointParams{AppID: app.ID, EndpointID: off.ID, Disabled: &no, Now: h.now})
		must(t, err, "enable")
		c = h.claim("w", h.now, 10, 10)
		deepEq(t, sorted(jobIDs(c)), sorted(doff), "claimed once enabled")
	})

	t.Run("Fairness", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		big, small := h.endpoint(app.ID), h.endpoint(app.ID)
		// big's backlog is older than anything of small's.
		h.due(app.ID, big.ID, 50, h.at(-time.Hour), time.Second)
		ds := h.due(app.ID, small.ID, 2, h.now, 0)
		c := h.claim("w", h.now, 10, 5)
		n := countBy(c)
		eq(t, n[big.ID], 5, "jobs of the endpoint with a backlog")
		eq(t, n[small.ID], 2, "jobs of the small endpoint")
		got := map[string]bool{}
		for _, id := range jobIDs(c) {
			got[id] = true
		}
		for _, id := range ds {
			if !got[id] {
				t.Fatalf("small endpoint's delivery %s not claimed", id)
			}
		}
	})

	t.Run("Rotation", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		eps := map[string]bool{}
		for range 3 {
			ep := h.endpoint(app.ID)
			eps[ep.ID] = true
			h.due(app.ID, ep.ID, 10, h.at(-time.Minute), time.Second)
		}
		// Each claim can serve one endpoint only; three claims must not
		// keep serving the same one or two.
		served := map[string]bool{}
		for range 3 {
			c := h.claim("w", h.now, 5, 5)
			eq(t, len(c.Jobs), 5, "jobs")
			n := countBy(c)
			eq(t, len(n), 1, "endpoints served by one claim")
			for ep := range n {
				served[ep] = true
			}
		}
		deepEq(t, served, eps, "endpoints served over three claims")
	})

	t.Run("EventsShared", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		var eps []string
		for range 3 {
			eps = append(eps, h.endpoint(app.ID).ID)
		}
		h.insert(app.ID, ev{id: "one", endpoints: eps})
		h.insert(app.ID, ev{id: "two", endpoints: eps[:2]})
		c := h.claim("w", h.now, 10, 10)
		eq(t, len(c.Jobs), 5, "jobs")
		byEvent := map[string]*hook.Event{}
		for _, j := range c.Jobs {
			if prev, ok := byEvent[j.Event.ID]; ok && prev != j.Event {
				t.Fatalf("jobs of event %s have different *hook.Event values", j.Event.ID)
			}
			byEvent[j.Event.ID] = j.Event
		}
		eq(t, len(byEvent), 2, "events")
	})
}

func testRecordAttempt(t *testing.T, open Opener) {
	// claimed returns a new delivery leased to "w" until now+1m.
	claimed := func(h *h, appID, ep string) string {
		return h.insert(appID, ev{endpoints: []string{ep}, claimed: true, owner: "w", lease: h.at(time.Minute)}).Deliveries[0].ID
	}

	t.Run("Succeeded", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		ep := h.endpoint(app.ID)
		id := claimed(h, app.ID, ep.ID)
		eq(t, h.pending(), 1, "pending")
		h.record(attempt{owner: "w", delivery: id, status: 204, sched: 1, at: h.at(time.Second),
			decision: hook.Decision{Status: hook.DeliverySucceeded}})
		d := h.delivery(app.ID, id)
		eq(t, d.Status, hook.DeliverySucceeded, "Status")
		eq(t, d.AttemptCount, 1, "AttemptCount")
		eq(t, d.LastResponseStatus, 204, "LastResponseStatus")
		wantTimePtr(t, d.LastAttemptAt, h.at(time.Second), "LastAttemptAt")
		wantNilTime(t, d.NextAttemptAt, "NextAttemptAt")
		wantTime(t, d.UpdatedAt, h.at(3*time.Second), "UpdatedAt (the record's Now)")
		eq(t, len(d.Attempts), 1, "attempts")
		eq(t, d.Attempts[0].ResponseStatus, 204, "attempt ResponseStatus")
		eq(t, h.pending(), 0, "pending")
		eq(t, len(h.claim("x", h.at(time.Hour), 10, 10).Jobs), 0, "claimable")
		_, ok, err := h.s.NextDue(h.ctx)
		must(t, err, "NextDue")
		eq(t, ok, false, "NextDue ok")
	})

	t.Run("RetryLater", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		ep := h.endpoint(app.ID)
		id := claimed(h, app.ID, ep.ID)
		next := h.at(5*time.Minute + 7*time.Millisecond)
		h.record(attempt{owner: "w", delivery: id, status: 503, sched: 1,
			decision: hook.Decision{Status: hook.DeliveryPending, NextAttemptAt: next}})
		d := h.delivery(app.ID, id)
		eq(t, d.Status, hook.DeliveryPending, "Status")
		eq(t, d.AttemptCount, 1, "AttemptCount")
		eq(t, d.LastResponseStatus, 503, "LastResponseStatus")
		wantTimePtr(t, d.NextAttemptAt, next, "NextAttemptAt")
		eq(t, d.Attempts[0].ErrorKind, hook.ErrorKindStatus, "attempt ErrorKind")
		eq(t, h.pending(), 1, "pending")
		nd, ok, err := h.s.NextDue(h.ctx)
		must(t, err, "NextDue")
		eq(t, ok, true, "NextDue ok")
		wantTime(t, nd, next, "NextDue")
		eq(t, len(h.claim("x", next.Add(-time.Millisecond), 10, 10).Jobs), 0, "claimable before the next attempt")
		c := h.claim("x", next, 10, 10)
		deepEq(t, jobIDs(c), []string{id}, "claimable at the next attempt")
		eq(t, c.Jobs[0].AttemptCount, 1, "job AttemptCount")
		eq(t, c.Jobs[0].ScheduledAttempts, 1, "job ScheduledAttempts")
		eq(t, c.Jobs[0].Manual, false, "job Manual")
	})

	t.Run("Failed", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		ep := h.endpoint(app.ID)
		id := claimed(h, app.ID, ep.ID)
		h.record(attempt{owner: "w", delivery: id, number: 8, sched: 8, status: 0,
			decision: hook.Decision{Status: hook.DeliveryFailed}})
		d := h.delivery(app.ID, id)
		eq(t, d.Status, hook.DeliveryFailed, "Status")
		eq(t, d.AttemptCount, 8, "AttemptCount")
		eq(t, d.LastResponseStatus, 0, "LastResponseStatus")
		wantNilTime(t, d.NextAttemptAt, "NextAttemptAt")
		eq(t, h.pending(), 0, "pending")
		eq(t, len(h.claim("x", h.at(time.Hour), 10, 10).Jobs), 0, "claimable")
		// The endpoint stays enabled.
		got, err := h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		must(t, err, "GetEndpoint")
		eq(t, got.Disabled, false, "Disabled")
	})

	t.Run("DisableEndpoint", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		ep, other := h.endpoint(app.ID), h.endpoint(app.ID)
		id := claimed(h, app.ID, ep.ID)
		waiting := h.due(app.ID, ep.ID, 1, h.now, 0)
		h.record(attempt{owner: "w", delivery: id, status: 410, sched: 1, endpoint: ep.ID,
			decision: hook.Decision{Status: hook.DeliveryFailed, DisableEndpoint: true}})
		eq(t, h.delivery(app.ID, id).Status, hook.DeliveryFailed, "Status")
		got, err := h.s.GetEndpoint(h.ctx, app.ID, ep.ID)
		must(t, err, "GetEndpoint")
		eq(t, got.Disabled, true, "Disabled")
		got, err = h.s.GetEndpoint(h.ctx, app.ID, other.ID)
		must(t, err, "GetEndpoint other")
		eq(t, got.Disabled, false, "other endpoint Disabled")
		enabled, err := h.s.ListEnabledEndpoints(h.ctx, app.ID)
		must(t, err, "ListEnabledEndpoints")
		eq(t, len(enabled), 1, "enabled endpoints")
		eq(t, len(h.claim("x", h.at(time.Hour), 10, 10).Jobs), 0, "the disabled endpoint's other delivery")
		_, ok, err := h.s.NextDue(h.ctx)
		must(t, err, "NextDue")
		eq(t, ok, false, "NextDue ok")
		eq(t, h.delivery(app.ID, waiting[0]).Status, hook.DeliveryPaused, "other delivery is kept, paused")
	})

	t.Run("LeaseLost", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		ep := h.endpoint(app.ID)
		id := h.insert(app.ID, ev{endpoints: []string{ep.ID}, claimed: true, owner: "slow", lease: h.at(time.Second)}).Deliveries[0].ID
		// slow's lease runs out; fast takes the delivery.
		c := h.claim("fast", h.at(2*time.Second), 10, 10)
		deepEq(t, jobIDs(c), []string{id}, "taken over")
		// slow's late result is kept as an attempt but decides nothing.
		late := h.record(attempt{owner: "slow", delivery: id, status: 500, sched: 1, at: h.at(500 * time.Millisecond),
			decision: hook.Decision{Status: hook.DeliveryFailed}})
		d := h.delivery(app.ID, id)
		eq(t, d.Status, hook.DeliveryPending, "Status after the lost lease's attempt")
		eq(t, d.AttemptCount, 0, "AttemptCount after the lost lease's attempt")
		wantNilTime(t, d.LastAttemptAt, "LastAttemptAt")
		eq(t, len(d.Attempts), 1, "attempts")
		eq(t, d.Attempts[0].ID, late.ID, "the late attempt is recorded")
		eq(t, len(h.claim("other", h.at(3*time.Second), 10, 10).Jobs), 0, "fast's lease holds")

		h.record(attempt{owner: "fast", delivery: id, status: 200, sched: 1, at: h.at(3 * time.Second),
			decision: hook.Decision{Status: hook.DeliverySucceeded}})
		d = h.delivery(app.ID, id)
		eq(t, d.Status, hook.DeliverySucceeded, "Status")
		eq(t, d.AttemptCount, 1, "AttemptCount")
		eq(t, len(d.Attempts), 2, "attempts")
		eq(t, d.Attempts[0].ID, late.ID, "oldest first")

		// After the lease ended, the same owner's stale result decides nothing either.
		h.record(attempt{owner: "fast", delivery: id, number: 2, status: 500, sched: 2,
			decision: hook.Decision{Status: hook.DeliveryFailed}})
		d = h.delivery(app.ID, id)
		eq(t, d.Status, hook.DeliverySucceeded, "Status after a stale record")
		eq(t, d.AttemptCount, 1, "AttemptCount after a stale record")
		eq(t, len(d.Attempts), 3, "attempts: the stale one is recorded too")
	})

	t.Run("ManualAttempt", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		ep := h.endpoint(app.ID)
		id := claimed(h, app.ID, ep.ID)
		h.record(attempt{owner: "w", delivery: id, status: 500, sched: 8, number: 8, decision: hook.Decision{Status: hook.DeliveryFailed}})
		_, err := h.s.RetryDelivery(h.ctx, &store.RetryDeliveryParams{AppID: app.ID, DeliveryID: id, Now: h.at(time.Minute)})
		must(t, err, "RetryDelivery")
		c := h.claim("w", h.at(time.Minute), 10, 10)
		eq(t, c.Jobs[0].Manual, true, "Manual")
		// Whatever the attempt decides, the manual flag is spent.
		h.record(attempt{owner: "w", delivery: id, status: 503, sched: 8, number: 9, at: h.at(time.Minute),
			decision: hook.Decision{Status: hook.DeliveryPending, NextAttemptAt: h.at(2 * time.Minute)}})
		c = h.claim("w", h.at(2*time.Minute), 10, 10)
		deepEq(t, jobIDs(c), []string{id}, "claimed")
		eq(t, c.Jobs[0].Manual, false, "Manual after the manual attempt")
		eq(t, c.Jobs[0].AttemptCount, 9, "AttemptCount")
		eq(t, c.Jobs[0].ScheduledAttempts, 8, "ScheduledAttempts")
	})

	t.Run("DeletedDelivery", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		ep := h.endpoint(app.ID)
		id := claimed(h, app.ID, ep.ID)
		must(t, h.s.DeleteEndpoint(h.ctx, app.ID, ep.ID), "DeleteEndpoint")
		_, err := h.recordErr(attempt{owner: "w", delivery: id, status: 200, sched: 1,
			decision: hook.Decision{Status: hook.DeliverySucceeded}})
		must(t, err, "RecordAttempt for a deleted delivery")
		_, err = h.recordErr(attempt{owner: "w", delivery: id, status: 410, sched: 1, endpoint: ep.ID,
			decision: hook.Decision{Status: hook.DeliveryFailed, DisableEndpoint: true}})
		must(t, err, "RecordAttempt for a deleted delivery and endpoint")
		_, err = h.s.GetDelivery(h.ctx, app.ID, id)
		wantErr(t, err, hook.ENotFound, "-", "GetDelivery")
	})
}

func testLeases(t *testing.T, open Opener) {
	t.Run("Release", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		a, b := h.endpoint(app.ID), h.endpoint(app.ID)
		ours := h.due(app.ID, a.ID, 3, h.now, 0)
		theirs := h.due(app.ID, b.ID, 1, h.now, 0)
		deepEq(t, sorted(jobIDs(h.claim("A", h.now, 10, 10, b.ID))), sorted(ours), "A's claim")
		deepEq(t, jobIDs(h.claim("B", h.now, 10, 10)), theirs, "B's claim")

		// Releasing another owner's delivery does nothing.
		must(t, h.s.ReleaseDeliveries(h.ctx, &store.ReleaseDeliveriesParams{Owner: "A", IDs: theirs, Now: h.now}), "release B's as A")
		eq(t, len(h.claim("C", h.at(time.Second), 10, 10).Jobs), 0, "nothing released")

		must(t, h.s.ReleaseDeliveries(h.ctx, &store.ReleaseDeliveriesParams{Owner: "A", IDs: ours[:1], Now: h.at(time.Second)}), "release one")
		deepEq(t, jobIDs(h.claim("C", h.at(time.Second), 10, 10)), ours[:1], "the released one")

		must(t, h.s.ReleaseDeliveries(h.ctx, &store.ReleaseDeliveriesParams{Owner: "A", Now: h.at(2 * time.Second)}), "release all of A's")
		deepEq(t, sorted(jobIDs(h.claim("D", h.at(2*time.Second), 10, 10))), sorted(ours[1:]), "A's others, not B's nor C's")
		d := h.delivery(app.ID, ours[1])
		eq(t, d.Status, hook.DeliveryPending, "Status")
		eq(t, d.AttemptCount, 0, "AttemptCount untouched")
	})

	t.Run("ReleaseAll", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		a, b := h.endpoint(app.ID), h.endpoint(app.ID)
		h.due(app.ID, a.ID, 2, h.now, 0)
		h.due(app.ID, b.ID, 1, h.now, 0)
		later := h.due(app.ID, a.ID, 1, h.at(2*time.Hour), 0) // not leased, not due
		for _, o := range []struct {
			owner string
			ep    string
		}{{"A", b.ID}, {"B", a.ID}} {
			_, err := h.s.ClaimDeliveries(h.ctx, &store.ClaimDeliveriesParams{Owner: o.owner, Now: h.now,
				LeaseUntil: h.at(time.Hour), Limit: 10, PerEndpoint: 10, ExcludeEndpoints: []string{o.ep}})
			must(t, err, "ClaimDeliveries")
		}
		// ReleaseAllLeases has no clock parameter: claim by the wall clock.
		wall := time.Now().Add(time.Second)
		eq(t, len(h.claim("C", wall, 10, 10).Jobs), 0, "all leased")
		n, err := h.s.ReleaseAllLeases(h.ctx)
		must(t, err, "ReleaseAllLeases")
		eq(t, n, 3, "released")
		c := h.claim("C", wall, 10, 10)
		eq(t, len(c.Jobs), 3, "claimable after ReleaseAllLeases")
		for _, id := range jobIDs(c) {
			if id == later[0] {
				t.Fatal("a delivery that is not due was claimed")
			}
		}
		n, err = h.s.ReleaseAllLeases(h.ctx)
		must(t, err, "ReleaseAllLeases again")
		eq(t, n, 3, "C's leases")
	})

	t.Run("Renew", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		a, b := h.endpoint(app.ID), h.endpoint(app.ID)
		ours := h.due(app.ID, a.ID, 2, h.now, 0)
		theirs := h.due(app.ID, b.ID, 1, h.now, 0)
		h.claim("A", h.now, 10, 10, b.ID)
		h.claim("B", h.now, 10, 10)
		must(t, h.s.RenewLeases(h.ctx, &store.RenewLeasesParams{Owner: "A", Until: h.at(10 * time.Minute)}), "RenewLeases")
		deepEq(t, jobIDs(h.claim("C", h.at(5*time.Minute), 10, 10)), theirs, "only B's lease ran out")
		eq(t, len(h.claim("C", h.at(10*time.Minute-time.Millisecond), 10, 10, b.ID).Jobs), 0, "A's renewed leases hold")
		deepEq(t, sorted(jobIDs(h.claim("C", h.at(10*time.Minute), 10, 10, b.ID))), sorted(ours), "A's leases ran out")
		must(t, h.s.RenewLeases(h.ctx, &store.RenewLeasesParams{Owner: "nobody", Until: h.at(time.Hour)}), "RenewLeases of no leases")
	})

	t.Run("NextDue", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		ep, off := h.endpoint(app.ID), h.endpoint(app.ID, disabled)
		_, ok, err := h.s.NextDue(h.ctx)
		must(t, err, "NextDue")
		eq(t, ok, false, "NextDue of an empty store")

		h.due(app.ID, ep.ID, 1, h.at(time.Hour), 0)
		h.due(app.ID, off.ID, 1, h.at(30*time.Minute), 0)
		next, ok, err := h.s.NextDue(h.ctx)
		must(t, err, "NextDue")
		eq(t, ok, true, "ok")
		wantTime(t, next, h.at(time.Hour), "NextDue")

		id := h.insert(app.ID, ev{endpoints: []string{ep.ID}, claimed: true, owner: "w", lease: h.at(20 * time.Minute)}).Deliveries[0].ID
		next, _, err = h.s.NextDue(h.ctx)
		must(t, err, "NextDue")
		wantTime(t, next, h.at(20*time.Minute), "NextDue with a lease")

		h.record(attempt{owner: "w", delivery: id, status: 200, sched: 1, decision: hook.Decision{Status: hook.DeliverySucceeded}})
		next, _, err = h.s.NextDue(h.ctx)
		must(t, err, "NextDue")
		wantTime(t, next, h.at(time.Hour), "NextDue after the success")

		// Past due is reported as it is.
		h.due(app.ID, ep.ID, 1, h.at(-time.Hour), 0)
		next, _, err = h.s.NextDue(h.ctx)
		must(t, err, "NextDue")
		wantTime(t, next, h.at(-time.Hour), "NextDue in the past")
	})

	t.Run("CountPending", func(t *testing.T) {
		h := setup(t, open)
		a1, a2 := h.app(""), h.app("")
		e1, e2 := h.endpoint(a1.ID), h.endpoint(a2.ID)
		eq(t, h.pending(), 0, "empty")
		h.insert(a1.ID, ev{endpoints: []string{e1.ID}})
		id := h.insert(a2.ID, ev{endpoints: []string{e2.ID}, claimed: true, owner: "w", lease: h.at(time.Minute)}).Deliveries[0].ID
		h.insert(a2.ID, ev{endpoints: []string{e2.ID}})
		eq(t, h.pending(), 3, "pending")
		h.record(attempt{owner: "w", delivery: id, status: 400, sched: 8, decision: hook.Decision{Status: hook.DeliveryFailed}})
		eq(t, h.pending(), 2, "after a failure")
		_, err := h.s.RetryDelivery(h.ctx, &store.RetryDeliveryParams{AppID: a2.ID, DeliveryID: id, Now: h.now})
		must(t, err, "RetryDelivery")
		eq(t, h.pending(), 3, "after a retry")
		must(t, h.s.DeleteApp(h.ctx, a2.ID), "DeleteApp")
		eq(t, h.pending(), 1, "after deleting an app")
	})
}
