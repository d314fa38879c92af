package storetest

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// testStats covers the delivery statistics: exact counts across bucket
// edges, scoping by app and endpoint, quantiles, the backlog, the troubled
// endpoints, validation and retention.
func testStats(t *testing.T, open Opener) {
	// The attempts' fixed duration (see recordErr).
	const attemptDur = 1234 * time.Millisecond
	// done inserts an event at evAt with a claimed delivery to ep, and
	// records one attempt started at at deciding decision.
	done := func(h *h, appID, ep string, evAt, at time.Time, status int, d hook.Decision) string {
		t := h.t
		t.Helper()
		id := h.insert(appID, ev{at: evAt, endpoints: []string{ep}, claimed: true, owner: "w", lease: h.at(time.Hour)}).Deliveries[0].ID
		h.record(attempt{owner: "w", delivery: id, status: status, number: 1, sched: 1, at: at, decision: d})
		return id
	}
	succeeded := hook.Decision{Status: hook.DeliverySucceeded}
	exhausted := hook.Decision{Status: hook.DeliveryFailed}
	stats := func(h *h, p store.StatsParams) *store.Stats {
		h.t.Helper()
		if p.Now.IsZero() {
			p.Now = h.now
		}
		st, err := h.s.Stats(h.ctx, &p)
		must(h.t, err, "Stats")
		return st
	}
	type counts struct{ succ, failed, exh int64 }
	wantCounts := func(t *testing.T, st *store.Stats, start time.Time, bucket time.Duration, want []counts, what string) {
		t.Helper()
		eq(t, len(st.Buckets), len(want), what+": buckets")
		for i, b := range st.Buckets {
			wantTime(t, b.Start, start.Add(time.Duration(i)*bucket), what+": bucket start")
			got := counts{b.Succeeded, b.FailedAttempts, b.Exhausted}
			if got != want[i] {
				t.Fatalf("%s: bucket %d (%v): got %+v, want %+v", what, i, b.Start, got, want[i])
			}
			if (b.P50 == nil) != (b.Succeeded == 0) || (b.P99 == nil) != (b.Succeeded == 0) {
				t.Fatalf("%s: bucket %d: p50 %v p99 %v with %d succeeded", what, i, b.P50, b.P99, b.Succeeded)
			}
		}
	}

	t.Run("CountsAndScopes", func(t *testing.T) {
		h := setup(t, open)
		base := h.now.Truncate(time.Hour).Add(-3 * time.Hour)
		at := func(d time.Duration) time.Time { return base.Add(d) }
		appA, appB := h.app("a"), h.app("b")
		e1, e2, e3 := h.endpoint(appA.ID), h.endpoint(appA.ID), h.endpoint(appB.ID)
		e4 := h.endpoint(appA.ID)
		later := h.at(time.Hour)

		// e1: a success just before the 5m edge, a failed attempt right
		// at it (pending, retried later), an exhausted one just before
		// the 10m edge: e1's last attempt failed.
		done(h, appA.ID, e1.ID, at(4*time.Minute), at(5*time.Minute-time.Millisecond), 200, succeeded)
		retried := done(h, appA.ID, e1.ID, at(5*time.Minute), at(5*time.Minute), 503,
			hook.Decision{Status: hook.DeliveryPending, NextAttemptAt: later})
		done(h, appA.ID, e1.ID, at(6*time.Minute), at(10*time.Minute-time.Millisecond), 500, exhausted)
		// e2: one success in the last bucket, one right after the window,
		// one just before it: e2's last attempt succeeded.
		done(h, appA.ID, e2.ID, at(10*time.Minute), at(10*time.Minute), 204, succeeded)
		done(h, appA.ID, e2.ID, at(15*time.Minute), at(15*time.Minute), 204, succeeded)
		done(h, appA.ID, e2.ID, at(-time.Minute), at(-time.Millisecond), 204, succeeded)
		// e3, another app's: a success and a failed attempt in bucket 0.
		done(h, appB.ID, e3.ID, at(time.Minute), at(time.Minute), 200, succeeded)
		done(h, appB.ID, e3.ID, at(2*time.Minute), at(2*time.Minute), 0,
			hook.Decision{Status: hook.DeliveryPending, NextAttemptAt: later})
		// Backlog of app A: one due now (never attempted), the retried
		// one (not due), one paused (e4 disabled).
		h.insert(appA.ID, ev{at: at(time.Minute), endpoints: []string{e1.ID}})
		h.insert(appA.ID, ev{at: at(time.Minute), endpoints: []string{e4.ID}})
		yes := true
		_, err := h.s.UpdateEndpoint(h.ctx, &store.UpdateEndpointParams{AppID: appA.ID, EndpointID: e4.ID, Disabled: &yes, Now: h.now})
		must(t, err, "disable e4")

		win := store.StatsParams{Since: base, Until: at(15 * time.Minute), Bucket: 5 * time.Minute}
		p := win
		p.AppID = appA.ID
		stA := stats(h, p)
		wantCounts(t, stA, base, 5*time.Minute, []counts{{1, 0, 0}, {0, 2, 1}, {1, 0, 0}}, "app A")
		eq(t, stA.Backlog, store.Backlog{Pending: 3, DueNow: 1}, "app A backlog")
		eq(t, len(stA.Troubled), 2, "app A troubled")
		dis, fail := stA.Troubled[0], stA.Troubled[1]
		eq(t, dis.EndpointID, e4.ID, "troubled[0]")
		eq(t, dis.State, store.EndpointStateDisabled, "troubled[0] state")
		wantNilTime(t, dis.LastAttemptAt, "troubled[0] last attempt (none)")
		wantNilTime(t, dis.NextAttemptAt, "troubled[0] next attempt (disabled)")
		eq(t, fail.EndpointID, e1.ID, "troubled[1]")
		eq(t, fail.AppID, appA.ID, "troubled[1] app")
		eq(t, fail.URL, e1.URL, "troubled[1] url")
		eq(t, fail.State, store.EndpointStateFailing, "troubled[1] state")
		wantTimePtr(t, fail.LastAttemptAt, at(10*time.Minute-time.Millisecond), "troubled[1] last attempt")
		eq(t, fail.LastResponseStatus, 500, "troubled[1] last status")
		eq(t, fail.LastErrorKind, hook.ErrorKindStatus, "troubled[1] last error kind")
		eq(t, fail.LastError, "status 500", "troubled[1] last error")
		// The due delivery inserted at base+1m is e1's earliest.
		wantTimePtr(t, fail.NextAttemptAt, at(time.Minute), "troubled[1] next attempt")

		// Every app: e3 adds to bucket 0.
		stAll := stats(h, win)
		wantCounts(t, stAll, base, 5*time.Minute, []counts{{2, 1, 0}, {0, 2, 1}, {1, 0, 0}}, "all apps")
		eq(t, stAll.Backlog, store.Backlog{Pending: 4, DueNow: 1}, "all apps backlog")
		eq(t, len(stAll.Troubled), 3, "all apps troubled")
		eq(t, stAll.Troubled[1].EndpointID, e1.ID, "all apps troubled[1] (newest failure first)")
		eq(t, stAll.Troubled[2].EndpointID, e3.ID, "all apps troubled[2]")

		// App B never sees app A.
		p = win
		p.AppID = appB.ID
		stB := stats(h, p)
		wantCounts(t, stB, base, 5*time.Minute, []counts{{1, 1, 0}, {}, {}}, "app B")
		eq(t, stB.Backlog, store.Backlog{Pending: 1, DueNow: 0}, "app B backlog")
		eq(t, len(stB.Troubled), 1, "app B troubled")
		eq(t, stB.Troubled[0].EndpointID, e3.ID, "app B troubled[0]")
		eq(t, stB.Troubled[0].LastResponseStatus, 0, "app B troubled[0] status")

		// One endpoint.
		p = win
		p.AppID, p.EndpointID = appA.ID, e2.ID
		st2 := stats(h, p)
		wantCounts(t, st2, base, 5*time.Minute, []counts{{}, {}, {1, 0, 0}}, "endpoint e2")
		eq(t, st2.Backlog, store.Backlog{}, "endpoint e2 backlog")
		eq(t, len(st2.Troubled), 0, "endpoint e2 troubled")
		p.EndpointID = e1.ID
		st1 := stats(h, p)
		wantCounts(t, st1, base, 5*time.Minute, []counts{{1, 0, 0}, {0, 2, 1}, {}}, "endpoint e1")
		eq(t, st1.Backlog, store.Backlog{Pending: 2, DueNow: 1}, "endpoint e1 backlog")
		// Every app, one endpoint (by id alone).
		p.AppID = ""
		wantCounts(t, stats(h, p), base, 5*time.Minute, []counts{{1, 0, 0}, {0, 2, 1}, {}}, "endpoint e1, every app")
		// Another app's endpoint is not found.
		p.AppID, p.EndpointID = appB.ID, e1.ID
		_, err = h.s.Stats(h.ctx, &p)
		wantErr(t, err, hook.ENotFound, "endpoint", "Stats of another app's endpoint")

		// One-minute buckets from an unaligned since: the first starts
		// at the minute; the edges fall as the attempts' start minutes.
		p = store.StatsParams{AppID: appA.ID, Since: at(4*time.Minute + 30*time.Second), Until: at(6 * time.Minute), Bucket: time.Minute}
		wantCounts(t, stats(h, p), at(4*time.Minute), time.Minute, []counts{{1, 0, 0}, {0, 1, 0}}, "1m buckets")

		// Due now follows Now.
		p = win
		p.AppID, p.Now = appA.ID, later
		eq(t, stats(h, p).Backlog, store.Backlog{Pending: 3, DueNow: 2}, "app A backlog at the retry")
		_ = retried
	})

	t.Run("Quantiles", func(t *testing.T) {
		h := setup(t, open)
		base := h.now.Truncate(time.Hour).Add(-time.Hour)
		app := h.app("")
		ep := h.endpoint(app.ID)
		// 40 successes in one minute, of latencies 25 ms, 50 ms, ...,
		// 1000 ms (event creation to the end of the attempt).
		const n = 40
		lat := func(i int) time.Duration { return time.Duration(i+1) * 25 * time.Millisecond }
		start := base.Add(10 * time.Second)
		for i := range n {
			done(h, app.ID, ep.ID, start.Add(attemptDur-lat(i)), start, 200, succeeded)
		}
		// A failed attempt adds no latency.
		done(h, app.ID, ep.ID, start.Add(-time.Hour), start, 500, exhausted)
		st := stats(h, store.StatsParams{AppID: app.ID, Since: base, Until: base.Add(time.Minute), Bucket: time.Minute})
		eq(t, len(st.Buckets), 1, "buckets")
		b := st.Buckets[0]
		eq(t, b.Succeeded, int64(n), "succeeded")
		near := func(got *time.Duration, want time.Duration, what string) {
			t.Helper()
			if got == nil {
				t.Fatalf("%s: nil", what)
			}
			if rel := math.Abs(float64(*got-want)) / float64(want); rel > store.LatencyRelativeError {
				t.Fatalf("%s: got %v, want %v within %.1f%%", what, *got, want, 100*store.LatencyRelativeError)
			}
		}
		near(b.P50, lat(n/2-1), "p50")
		near(b.P99, lat(n-1), "p99")
	})

	t.Run("Invalid", func(t *testing.T) {
		h := setup(t, open)
		ok := store.StatsParams{Since: h.at(-time.Hour), Until: h.now, Bucket: time.Minute, Now: h.now}
		for _, c := range []struct {
			name  string
			mod   func(p *store.StatsParams)
			field string
		}{
			{"zero bucket", func(p *store.StatsParams) { p.Bucket = 0 }, "bucket"},
			{"bucket not whole minutes", func(p *store.StatsParams) { p.Bucket = 90 * time.Second }, "bucket"},
			{"too many buckets", func(p *store.StatsParams) { p.Since = h.at(-26 * time.Hour) }, "bucket"},
			{"until before since", func(p *store.StatsParams) { p.Until = p.Since.Add(-time.Minute) }, "until"},
			{"until at since", func(p *store.StatsParams) { p.Until = p.Since }, "until"},
		} {
			p := ok
			c.mod(&p)
			_, err := h.s.Stats(h.ctx, &p)
			wantErr(t, err, hook.EInvalid, c.field, c.name)
		}
		p := ok
		p.Until = h.now.Truncate(time.Minute)
		p.Since = p.Until.Add(-store.StatsMaxBuckets * time.Minute)
		st, err := h.s.Stats(h.ctx, &p)
		must(t, err, "Stats of the most buckets")
		eq(t, len(st.Buckets), store.StatsMaxBuckets, "buckets")
		p.EndpointID = "ep_nope"
		_, err = h.s.Stats(h.ctx, &p)
		wantErr(t, err, hook.ENotFound, "endpoint", "Stats of an unknown endpoint")
	})

	t.Run("Concurrent", func(t *testing.T) { testStatsConcurrent(t, open) })
	t.Run("RollupsExact", func(t *testing.T) { testRollupsExact(setup(t, open)) })

	t.Run("Retention", func(t *testing.T) {
		h := setup(t, open)
		day := 24 * time.Hour
		base := h.now.Truncate(day).Add(-3 * day)
		app := h.app("")
		ep := h.endpoint(app.ID)
		done(h, app.ID, ep.ID, base, base, 200, succeeded)
		done(h, app.ID, ep.ID, base.Add(2*day), base.Add(2*day), 200, succeeded)
		p := store.StatsParams{AppID: app.ID, Since: base, Until: base.Add(3 * day), Bucket: 24 * time.Hour}
		wantCounts(t, stats(h, p), base, day, []counts{{1, 0, 0}, {}, {1, 0, 0}}, "before the purge")
		cursor := ""
		for range maxPages {
			res, err := h.s.PurgeEvents(h.ctx, &store.PurgeEventsParams{Before: base.Add(day), Limit: 1, Cursor: cursor})
			must(t, err, "PurgeEvents")
			if res.Done {
				break
			}
			cursor = res.Cursor
		}
		wantCounts(t, stats(h, p), base, day, []counts{{}, {}, {1, 0, 0}}, "after the purge")
	})
}

// testStatsConcurrent records attempts from many goroutines at once, so
// that backends batch them (group commit): each batch's rollups of one
// endpoint and minute are merged, and the counts stay exact.
func testStatsConcurrent(t *testing.T, open Opener) {
	h := setup(t, open)
	base := h.now.Truncate(time.Hour).Add(-time.Hour)
	app := h.app("")
	eps := []*hook.Endpoint{h.endpoint(app.ID), h.endpoint(app.ID)}
	const n = 40
	ids := make([]string, n)
	for i := range n {
		ids[i] = h.insert(app.ID, ev{at: base, endpoints: []string{eps[i%2].ID}, claimed: true, owner: "w", lease: h.at(time.Hour)}).Deliveries[0].ID
	}
	errs := make(chan error, n)
	for i := range n {
		go func() {
			d := hook.Decision{Status: hook.DeliverySucceeded}
			status, kind := 200, ""
			if i%4 >= 2 {
				d, status, kind = hook.Decision{Status: hook.DeliveryFailed}, 500, hook.ErrorKindStatus
			}
			// Two minutes: i < n/2 in the first.
			at := base.Add(time.Duration(i/(n/2))*time.Minute + time.Duration(i)*time.Millisecond)
			errs <- h.s.RecordAttempt(h.ctx, &store.RecordAttemptParams{Owner: "w", Attempt: &hook.Attempt{
				ID: hook.NewID("att"), DeliveryID: ids[i], Number: 1, Trigger: hook.TriggerScheduled, StartedAt: at,
				Duration: time.Millisecond, ResponseStatus: status, ErrorKind: kind}, ScheduledAttempts: 1, Decision: d, Now: at})
		}()
	}
	for range n {
		must(t, <-errs, "RecordAttempt")
	}
	for i, ep := range eps {
		st, err := h.s.Stats(h.ctx, &store.StatsParams{AppID: app.ID, EndpointID: ep.ID, Since: base,
			Until: base.Add(2 * time.Minute), Bucket: time.Minute, Now: h.now})
		must(t, err, "Stats")
		for m, b := range st.Buckets {
			// Of the endpoint's 10 attempts in each minute, those of
			// i%4 < 2: i%2 == e, so i%4 == e succeeded.
			eq(t, b.Succeeded, int64(5), fmt.Sprintf("endpoint %d minute %d succeeded", i, m))
			eq(t, b.FailedAttempts, int64(5), fmt.Sprintf("endpoint %d minute %d failed attempts", i, m))
			eq(t, b.Exhausted, int64(5), fmt.Sprintf("endpoint %d minute %d exhausted", i, m))
		}
	}
}
