package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// testInlineAttempts covers the attempts as every reader sees them, whatever
// a backend stores for them (issue 18: a first-try success may be kept on
// its delivery's row rather than as an attempt row; failures, retries and
// attempts whose lease was lost stay rows). GetDelivery and ListAttempts
// answer as if every attempt were a row: same ids, fields, order, filters
// and cursors.
func testInlineAttempts(t *testing.T, open Opener) {
	// wantAttempt checks every field of a listed or shown attempt.
	wantAttempt := func(t *testing.T, got, want *hook.Attempt, what string) {
		t.Helper()
		eq(t, got.ID, want.ID, what+": ID")
		eq(t, got.DeliveryID, want.DeliveryID, what+": DeliveryID")
		eq(t, got.Number, want.Number, what+": Number")
		eq(t, got.Trigger, want.Trigger, what+": Trigger")
		wantTime(t, got.StartedAt, want.StartedAt, what+": StartedAt")
		eq(t, got.DurationMillis, int64(1234), what+": DurationMillis")
		eq(t, got.Duration, 1234*time.Millisecond, what+": Duration")
		eq(t, got.ResponseStatus, want.ResponseStatus, what+": ResponseStatus")
		eq(t, got.ResponseBody, want.ResponseBody, what+": ResponseBody")
		eq(t, got.ErrorKind, want.ErrorKind, what+": ErrorKind")
		eq(t, got.Error, want.Error, what+": Error")
	}
	idsOf := func(as []*hook.Attempt) []string {
		out := []string{}
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	// listAll pages through ListAttempts by limit.
	listAll := func(h *h, p store.ListAttemptsParams, limit int) []string {
		h.t.Helper()
		p.Limit = limit
		out := []string{}
		for range maxPages {
			page, err := h.s.ListAttempts(h.ctx, &p)
			must(h.t, err, "ListAttempts")
			out = append(out, idsOf(page.Data)...)
			if page.NextCursor == "" {
				return out
			}
			p.Cursor = page.NextCursor
		}
		h.t.Fatal("too many pages")
		return nil
	}
	succeeded := hook.Decision{Status: hook.DeliverySucceeded}

	t.Run("FirstTrySuccess", func(t *testing.T) {
		h := setup(t, open)
		app, other := h.app(""), h.app("")
		ep, ep2 := h.endpoint(app.ID), h.endpoint(app.ID)
		res := h.insert(app.ID, ev{id: "e1", endpoints: []string{ep.ID}, claimed: true, owner: "w", lease: h.at(time.Minute)})
		id := res.Deliveries[0].ID
		att := h.record(attempt{owner: "w", delivery: id, endpoint: ep.ID, sched: 1, status: 200,
			at: h.at(time.Second), decision: succeeded})
		att.EventID, att.EndpointID = "e1", ep.ID

		d := h.delivery(app.ID, id)
		eq(t, d.Status, hook.DeliverySucceeded, "Status")
		eq(t, d.AttemptCount, 1, "AttemptCount")
		eq(t, d.LastResponseStatus, 200, "LastResponseStatus")
		wantTimePtr(t, d.LastAttemptAt, h.at(time.Second), "LastAttemptAt")
		wantNilTime(t, d.NextAttemptAt, "NextAttemptAt")
		eq(t, len(d.Attempts), 1, "attempts")
		wantAttempt(t, d.Attempts[0], att, "GetDelivery")

		page, err := h.s.ListAttempts(h.ctx, &store.ListAttemptsParams{AppID: app.ID})
		must(t, err, "ListAttempts")
		eq(t, len(page.Data), 1, "listed attempts")
		eq(t, page.NextCursor, "", "NextCursor")
		wantAttempt(t, page.Data[0], att, "ListAttempts")
		eq(t, page.Data[0].EventID, "e1", "ListAttempts: EventID")
		eq(t, page.Data[0].EndpointID, ep.ID, "ListAttempts: EndpointID")

		// Each filter keeps it, or leaves it out.
		one, none := []string{att.ID}, []string{}
		for _, c := range []struct {
			name string
			p    store.ListAttemptsParams
			want []string
		}{
			{"EndpointID", store.ListAttemptsParams{EndpointID: ep.ID}, one},
			{"another EndpointID", store.ListAttemptsParams{EndpointID: ep2.ID}, none},
			{"DeliveryID", store.ListAttemptsParams{DeliveryID: id}, one},
			{"another DeliveryID", store.ListAttemptsParams{DeliveryID: hook.NewID("dlv")}, none},
			{"EventID", store.ListAttemptsParams{EventID: "e1"}, one},
			{"another EventID", store.ListAttemptsParams{EventID: "e2"}, none},
			{"2xx", store.ListAttemptsParams{StatusClass: store.StatusClass2xx}, one},
			{"5xx", store.ListAttemptsParams{StatusClass: store.StatusClass5xx}, none},
			{"no response", store.ListAttemptsParams{StatusClass: store.StatusClassError}, none},
			{"ErrorKind", store.ListAttemptsParams{ErrorKind: hook.ErrorKindStatus}, none},
			{"Since at its start", store.ListAttemptsParams{Since: h.at(time.Second)}, one},
			{"Since after", store.ListAttemptsParams{Since: h.at(time.Second + time.Millisecond)}, none},
			{"Until after", store.ListAttemptsParams{Until: h.at(time.Second + time.Millisecond)}, one},
			{"Until at its start", store.ListAttemptsParams{Until: h.at(time.Second)}, none},
			{"every filter", store.ListAttemptsParams{EndpointID: ep.ID, DeliveryID: id, EventID: "e1",
				StatusClass: store.StatusClass2xx, Since: h.now, Until: h.at(time.Minute)}, one},
		} {
			c.p.AppID = app.ID
			deepEq(t, listAll(h, c.p, 10), c.want, c.name)
		}
		deepEq(t, listAll(h, store.ListAttemptsParams{AppID: other.ID}, 10), none, "another app")
		_, err = h.s.GetDelivery(h.ctx, other.ID, id)
		wantErr(t, err, hook.ENotFound, "-", "GetDelivery through another app")
	})

	// Interleaved: first-try successes, failures and retries of other
	// deliveries, and an attempt whose lease was lost; every list is in
	// the order the attempts were recorded, newest first, across pages.
	t.Run("MergedOrder", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		a, b := h.endpoint(app.ID), h.endpoint(app.ID)
		lease := h.at(2 * time.Hour) // d5's outlasts the claim for retries
		mk := func(id string, ep string) string {
			return h.insert(app.ID, ev{id: id, endpoints: []string{ep}, claimed: true, owner: "w", lease: lease}).Deliveries[0].ID
		}
		d1, d2, d3, d4, d5 := mk("e1", a.ID), mk("e2", b.ID), mk("e3", a.ID), mk("e4", b.ID), mk("e5", a.ID)
		events := map[string]string{d1: "e1", d2: "e2", d3: "e3", d4: "e4", d5: "e5"}
		eps := map[string]string{d1: a.ID, d2: b.ID, d3: a.ID, d4: b.ID, d5: a.ID}
		var recorded []*hook.Attempt // oldest first
		rec := func(a attempt) {
			t.Helper()
			a.endpoint = eps[a.delivery]
			a.at = h.at(time.Duration(len(recorded)+1) * time.Minute)
			at := h.record(a)
			at.EventID, at.EndpointID = events[a.delivery], eps[a.delivery]
			recorded = append(recorded, at)
		}
		retry := hook.Decision{Status: hook.DeliveryPending, NextAttemptAt: h.now}
		rec(attempt{owner: "w", delivery: d1, number: 1, sched: 1, status: 500, decision: retry})        // d1 fails
		rec(attempt{owner: "w", delivery: d2, number: 1, sched: 1, status: 200, decision: succeeded})    // first-try success
		rec(attempt{owner: "w", delivery: d3, number: 1, sched: 1, status: 0, decision: retry})          // no response
		rec(attempt{owner: "w", delivery: d4, number: 1, sched: 1, status: 204, decision: succeeded})    // first-try success
		rec(attempt{owner: "gone", delivery: d5, number: 1, sched: 1, status: 200, decision: succeeded}) // lease lost
		c := h.claim("w", h.at(time.Hour), 10, 10)
		eq(t, len(c.Jobs), 2, "claimed for retries (d1 and d3)")
		rec(attempt{owner: "w", delivery: d1, number: 2, sched: 2, status: 200, decision: succeeded}) // success on retry
		rec(attempt{owner: "w", delivery: d5, number: 1, sched: 1, status: 202, decision: succeeded}) // the owner's, first try
		rec(attempt{owner: "w", delivery: d3, number: 2, sched: 2, status: 503, decision: hook.Decision{Status: hook.DeliveryFailed}})

		newest := reverseIDs(idsOf(recorded))
		for _, limit := range []int{1, 2, 3, 50} {
			deepEq(t, listAll(h, store.ListAttemptsParams{AppID: app.ID}, limit), newest, fmt.Sprintf("newest first, by %d", limit))
		}
		page, err := h.s.ListAttempts(h.ctx, &store.ListAttemptsParams{AppID: app.ID})
		must(t, err, "ListAttempts")
		eq(t, len(page.Data), len(recorded), "listed")
		for i, got := range page.Data {
			w := recorded[len(recorded)-1-i]
			wantAttempt(t, got, w, fmt.Sprintf("listed %d", i))
			eq(t, got.EventID, w.EventID, "EventID")
			eq(t, got.EndpointID, w.EndpointID, "EndpointID")
		}

		pick := func(keep func(a *hook.Attempt) bool) []string {
			out := []string{}
			for i := len(recorded) - 1; i >= 0; i-- {
				if keep(recorded[i]) {
					out = append(out, recorded[i].ID)
				}
			}
			return out
		}
		for _, limit := range []int{1, 2, 50} {
			list := func(p store.ListAttemptsParams) []string { p.AppID = app.ID; return listAll(h, p, limit) }
			deepEq(t, list(store.ListAttemptsParams{EndpointID: a.ID}), pick(func(x *hook.Attempt) bool { return x.EndpointID == a.ID }), "EndpointID a")
			deepEq(t, list(store.ListAttemptsParams{EndpointID: b.ID}), pick(func(x *hook.Attempt) bool { return x.EndpointID == b.ID }), "EndpointID b")
			for _, d := range []string{d1, d2, d3, d4, d5} {
				deepEq(t, list(store.ListAttemptsParams{DeliveryID: d}), pick(func(x *hook.Attempt) bool { return x.DeliveryID == d }), "DeliveryID")
				deepEq(t, list(store.ListAttemptsParams{EventID: events[d]}), pick(func(x *hook.Attempt) bool { return x.DeliveryID == d }), "EventID")
			}
			for class, in := range map[string]func(int) bool{
				store.StatusClass2xx:   func(s int) bool { return s >= 200 && s < 300 },
				store.StatusClass5xx:   func(s int) bool { return s >= 500 && s < 600 },
				store.StatusClassError: func(s int) bool { return s == 0 },
			} {
				deepEq(t, list(store.ListAttemptsParams{StatusClass: class}), pick(func(x *hook.Attempt) bool { return in(x.ResponseStatus) }), "StatusClass "+class)
			}
			deepEq(t, list(store.ListAttemptsParams{ErrorKind: hook.ErrorKindStatus}), pick(func(x *hook.Attempt) bool { return x.ErrorKind == hook.ErrorKindStatus }), "ErrorKind")
			deepEq(t, list(store.ListAttemptsParams{ErrorKind: ""}), newest, "no ErrorKind filter")
			since, until := h.at(2*time.Minute), h.at(6*time.Minute)
			deepEq(t, list(store.ListAttemptsParams{Since: since, Until: until}), pick(func(x *hook.Attempt) bool {
				return !x.StartedAt.Before(since) && x.StartedAt.Before(until)
			}), "Since and Until")
			deepEq(t, list(store.ListAttemptsParams{EndpointID: b.ID, StatusClass: store.StatusClass2xx}),
				pick(func(x *hook.Attempt) bool {
					return x.EndpointID == b.ID && x.ResponseStatus < 300 && x.ResponseStatus >= 200
				}), "EndpointID and 2xx")
		}

		// Each delivery shows its attempts oldest first, rows and
		// first-try success alike.
		for _, d := range []string{d1, d2, d3, d4, d5} {
			got := h.delivery(app.ID, d)
			var want []*hook.Attempt
			for _, r := range recorded {
				if r.DeliveryID == d {
					want = append(want, r)
				}
			}
			eq(t, len(got.Attempts), len(want), "attempts of "+events[d])
			for i := range want {
				wantAttempt(t, got.Attempts[i], want[i], fmt.Sprintf("attempt %d of %s", i, events[d]))
			}
		}
		// The lease lost: the delivery was decided by its owner only.
		d := h.delivery(app.ID, d5)
		eq(t, d.Status, hook.DeliverySucceeded, "d5's status")
		eq(t, d.LastResponseStatus, 202, "d5's last response, the owner's")
		eq(t, len(d.Attempts), 2, "d5's attempts: the stale one and the owner's")
		eq(t, d.Attempts[0].Number, 1, "the stale attempt's number")
		eq(t, d.Attempts[1].Number, 1, "the owner's attempt's number")
		// The lease lost, nothing else: the attempt is kept, the
		// delivery is as it was.
		lost := h.insert(app.ID, ev{id: "e6", endpoints: []string{a.ID}, claimed: true, owner: "w", lease: lease}).Deliveries[0].ID
		stale := h.record(attempt{owner: "gone", delivery: lost, endpoint: a.ID, sched: 1, status: 200, decision: succeeded})
		d = h.delivery(app.ID, lost)
		eq(t, d.Status, hook.DeliveryPending, "a delivery whose lease was lost: status")
		eq(t, d.AttemptCount, 0, "a delivery whose lease was lost: attempt count")
		deepEq(t, idsOf(d.Attempts), []string{stale.ID}, "a delivery whose lease was lost: its attempt")
		deepEq(t, listAll(h, store.ListAttemptsParams{AppID: app.ID}, 3)[0], stale.ID, "the stale attempt, newest")
	})

	t.Run("ManualRetryOfFirstTrySuccess", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		ep := h.endpoint(app.ID)
		id := h.insert(app.ID, ev{id: "e1", endpoints: []string{ep.ID}, claimed: true, owner: "w", lease: h.at(time.Minute)}).Deliveries[0].ID
		first := h.record(attempt{owner: "w", delivery: id, endpoint: ep.ID, sched: 1, status: 200, at: h.at(time.Second), decision: succeeded})
		d, err := h.s.RetryDelivery(h.ctx, &store.RetryDeliveryParams{AppID: app.ID, DeliveryID: id, Now: h.at(time.Minute)})
		must(t, err, "RetryDelivery")
		eq(t, d.Status, hook.DeliveryPending, "retried: status")
		c := h.claim("w", h.at(time.Minute), 10, 10)
		deepEq(t, jobIDs(c), []string{id}, "claimed for the manual attempt")
		eq(t, c.Jobs[0].Manual, true, "manual")
		eq(t, c.Jobs[0].AttemptCount, 1, "attempts made")
		second := &hook.Attempt{
			ID: hook.NewID("att"), DeliveryID: id, Number: 2, Trigger: hook.TriggerManual,
			StartedAt: h.at(2 * time.Minute), Duration: 1234 * time.Millisecond, ResponseStatus: 201, ResponseBody: "again",
		}
		must(t, h.s.RecordAttempt(h.ctx, &store.RecordAttemptParams{Owner: "w", Attempt: second, ScheduledAttempts: 1,
			Decision: succeeded, EndpointID: ep.ID, Now: h.at(2 * time.Minute)}), "RecordAttempt, manual")

		d = h.delivery(app.ID, id)
		eq(t, d.Status, hook.DeliverySucceeded, "status")
		eq(t, d.AttemptCount, 2, "attempt count")
		eq(t, d.LastResponseStatus, 201, "last response")
		wantTimePtr(t, d.LastAttemptAt, h.at(2*time.Minute), "last attempt")
		eq(t, len(d.Attempts), 2, "attempts")
		wantAttempt(t, d.Attempts[0], first, "the first try")
		wantAttempt(t, d.Attempts[1], second, "the manual retry")
		for _, limit := range []int{1, 50} {
			deepEq(t, listAll(h, store.ListAttemptsParams{AppID: app.ID}, limit), []string{second.ID, first.ID}, "listed")
			deepEq(t, listAll(h, store.ListAttemptsParams{AppID: app.ID, DeliveryID: id}, limit), []string{second.ID, first.ID}, "listed by delivery")
		}
		page, err := h.s.ListAttempts(h.ctx, &store.ListAttemptsParams{AppID: app.ID})
		must(t, err, "ListAttempts")
		wantAttempt(t, page.Data[0], second, "listed manual retry")
		wantAttempt(t, page.Data[1], first, "listed first try")
	})

	// Deleting a delivery's event, endpoint or app removes its attempts,
	// the first-try success with them.
	t.Run("GoneWithTheirDeliveries", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		ep, ep2 := h.endpoint(app.ID), h.endpoint(app.ID)
		day := 24 * time.Hour
		old := h.insert(app.ID, ev{id: "old", at: h.at(-8 * day), endpoints: []string{ep.ID}, claimed: true, owner: "w", lease: h.at(time.Hour)})
		h.record(attempt{owner: "w", delivery: old.Deliveries[0].ID, endpoint: ep.ID, sched: 1, status: 200, at: h.at(-8 * day), decision: succeeded})
		other := h.insert(app.ID, ev{id: "other", endpoints: []string{ep2.ID}, claimed: true, owner: "w", lease: h.at(time.Hour)})
		h.record(attempt{owner: "w", delivery: other.Deliveries[0].ID, endpoint: ep2.ID, sched: 1, status: 200, decision: succeeded})
		kept := h.insert(app.ID, ev{id: "kept", endpoints: []string{ep.ID}, claimed: true, owner: "w", lease: h.at(time.Hour)})
		keptAtt := h.record(attempt{owner: "w", delivery: kept.Deliveries[0].ID, endpoint: ep.ID, sched: 1, status: 200, decision: succeeded})
		eq(t, len(listAll(h, store.ListAttemptsParams{AppID: app.ID}, 10)), 3, "attempts before")

		res, err := h.s.PurgeEvents(h.ctx, &store.PurgeEventsParams{Before: h.at(-2 * day), Limit: 100})
		must(t, err, "PurgeEvents")
		eq(t, res.Deleted, 1, "purged")
		must(t, h.s.DeleteEndpoint(h.ctx, app.ID, ep2.ID), "DeleteEndpoint")
		deepEq(t, listAll(h, store.ListAttemptsParams{AppID: app.ID}, 10), []string{keptAtt.ID}, "attempts after the purge and the endpoint's deletion")
		deepEq(t, listAll(h, store.ListAttemptsParams{AppID: app.ID, EventID: "old"}, 10), []string{}, "the purged event's attempts")
		must(t, h.s.DeleteApp(h.ctx, app.ID), "DeleteApp")
		deepEq(t, listAll(h, store.ListAttemptsParams{AppID: app.ID}, 10), []string{}, "attempts after the app's deletion")
	})
}
