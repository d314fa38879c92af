package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// RollupsBackend is what RunRollups needs of a backend: databases it can
// reopen, with stores that write their rollups only when they must.
type RollupsBackend struct {
	// NewDB returns a new, empty database (a file path or a DSN) that
	// lives until the test ends.
	NewDB func(t *testing.T) string
	// Open opens db with a rollup interval far longer than the test, so
	// that rollups are written only when a read or Close makes the store
	// write them. RunRollups closes the stores it opens.
	Open func(t *testing.T, db string) (store.Store, error)
	// OpenClocked opens db with the default rollup interval measured on
	// clock.
	OpenClocked func(t *testing.T, db string, clock clockwork.Clock) (store.Store, error)
	// Writes reports how many times s has written rollups, and how many
	// rollup rows in all.
	Writes func(s store.Store) (writes, rows int64)
	// Stored reads an endpoint's succeeded count from the rollup rows of
	// db as stored, beside the store (so without making it write).
	Stored func(t *testing.T, db, endpointID string) int64
}

// RunRollups checks that a store that keeps the rollups of recorded
// attempts in memory between writes answers Stats exactly as if it wrote
// them at each commit: counts, latency quantiles and last-attempt fields,
// over several reads (each of which writes what is pending), and after a
// Close and a reopen (Close writes what is pending).
func RunRollups(t *testing.T, b RollupsBackend) {
	open := func(t *testing.T, db string) *h {
		t.Helper()
		s, err := b.Open(t, db)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return &h{t: t, s: s, ctx: t.Context(), now: time.Now().UTC().Truncate(time.Millisecond)}
	}
	t.Run("Exact", func(t *testing.T) {
		t.Parallel()
		testRollupsExact(open(t, b.NewDB(t)))
	})
	t.Run("CloseFlushes", func(t *testing.T) {
		t.Parallel()
		db := b.NewDB(t)
		h := open(t, db)
		sc := newRollupScenario(h)
		sc.round1(h)
		must(t, h.s.Close(), "Close")
		h2 := open(t, db)
		h2.now = h.now
		sc.check(h2, "after Close and reopen")
	})
	openClocked := func(t *testing.T) (store.Store, *clockwork.FakeClock, string) {
		t.Helper()
		db, clock := b.NewDB(t), clockwork.NewFakeClock()
		s, err := b.OpenClocked(t, db, clock)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s, clock, db
	}
	t.Run("WritesPerInterval", func(t *testing.T) {
		t.Parallel()
		s, clock, _ := openClocked(t)
		testRollupWritesPerInterval(t, s, clock, b.Writes)
	})
	t.Run("FlushedByTimer", func(t *testing.T) {
		t.Parallel()
		s, clock, db := openClocked(t)
		testRollupsFlushedByTimer(t, s, clock, func(epID string) int64 { return b.Stored(t, db, epID) })
	})
}

// testRollupWritesPerInterval records first-try successes one commit
// each, a quarter interval apart: the rollups are written once per
// interval, not once per commit, and read back exactly.
func testRollupWritesPerInterval(t *testing.T, s store.Store, clock *clockwork.FakeClock, writes func(store.Store) (int64, int64)) {
	ctx := context.Background()
	const n = 40
	at := time.Now().UTC().Truncate(time.Minute)
	appID, epID, ids := RollupFixture(t, s, n, at)
	flushes0, rows0 := writes(s)
	start := clock.Now()
	for i, id := range ids {
		if err := RecordSuccess(ctx, s, id, "", at.Add(time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		clock.Advance(store.DefaultRollupInterval / 4)
	}
	if got := SucceededAround(t, s, appID, epID, at); got != n {
		t.Fatalf("succeeded: got %d, want %d", got, n)
	}
	flushes, rows := writes(s)
	flushes, rows = flushes-flushes0, rows-rows0
	intervals := int64((clock.Since(start) + store.DefaultRollupInterval - 1) / store.DefaultRollupInterval)
	t.Logf("%d commits, %d intervals: %d rollup writes (the read's included), %d rows", n, intervals, flushes, rows)
	if flushes > intervals+1 || flushes == 0 {
		t.Fatalf("%d rollup writes for %d commits over %d intervals: want 1 to %d", flushes, n, intervals, intervals+1)
	}
	if rows > 2*flushes { // one endpoint row and one app row each
		t.Fatalf("%d rollup rows in %d writes: want at most %d", rows, flushes, 2*flushes)
	}
}

// testRollupsFlushedByTimer: with no batch or read to carry them, the
// pending rollups are written once the interval has run out (stored
// reads the endpoint's count as stored).
func testRollupsFlushedByTimer(t *testing.T, s store.Store, clock *clockwork.FakeClock, stored func(epID string) int64) {
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Minute)
	_, epID, ids := RollupFixture(t, s, 1, at)
	if err := RecordSuccess(ctx, s, ids[0], "", at); err != nil {
		t.Fatal(err)
	}
	if got := stored(epID); got != 0 {
		t.Fatalf("stored before the interval: %d", got)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := clock.BlockUntilContext(waitCtx, 1); err != nil { // the store's rollup timer
		t.Fatal(err)
	}
	clock.Advance(store.DefaultRollupInterval)
	for {
		switch got := stored(epID); {
		case got == 1:
			return
		case got > 1:
			t.Fatalf("stored: %d, want 1", got)
		case waitCtx.Err() != nil:
			t.Fatal("the rollups were not written once the interval ran out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testRollupsExact records many attempts, one commit each, across
// endpoints, apps and minutes, reads them back, records more and reads
// again: every count, quantile and last attempt is exact.
func testRollupsExact(h *h) {
	sc := newRollupScenario(h)
	sc.round1(h)
	sc.check(h, "round 1")
	// Read twice: the first read's flush is not counted again.
	sc.check(h, "round 1, read again")
	sc.round2(h)
	sc.check(h, "round 2")
}

// rollupScenario is a set of attempts and the statistics they make.
type rollupScenario struct {
	base      time.Time // a whole minute; the window is 4 minutes from it
	appA      string
	appB      string
	eps       []string // eA1, eA2 of app A; eB1 of app B
	epApp     map[string]string
	counts    map[string]map[int]*rollupCounts // endpoint -> minute -> counts
	lastFails map[string]*rollupLast           // endpoint -> its last attempt
}

type rollupCounts struct {
	succ, failed, exh int64
	hist              store.LatencyHistogram
}

type rollupLast struct {
	at     time.Time
	status int
	failed bool
}

// rollupAttemptDur is the fixed duration of h.record's attempts.
const rollupAttemptDur = 1234 * time.Millisecond

func newRollupScenario(h *h) *rollupScenario {
	a, b := h.app(""), h.app("")
	e1, e2, e3 := h.endpoint(a.ID), h.endpoint(a.ID), h.endpoint(b.ID)
	return &rollupScenario{
		base: h.now.Truncate(time.Minute).Add(-2 * time.Hour),
		appA: a.ID, appB: b.ID, eps: []string{e1.ID, e2.ID, e3.ID},
		epApp:  map[string]string{e1.ID: a.ID, e2.ID: a.ID, e3.ID: b.ID},
		counts: map[string]map[int]*rollupCounts{}, lastFails: map[string]*rollupLast{},
	}
}

// one inserts a delivery to ep created at evAt and records one attempt
// started at at, of the given status, deciding d; it keeps the counts.
func (sc *rollupScenario) one(h *h, ep string, evAt, at time.Time, status int, d hook.Decision) {
	h.t.Helper()
	id := h.insert(sc.epApp[ep], ev{at: evAt, endpoints: []string{ep}, claimed: true, owner: "w", lease: h.at(time.Hour)}).Deliveries[0].ID
	h.record(attempt{owner: "w", delivery: id, status: status, number: 1, sched: 1, at: at, decision: d})
	m := int(at.Sub(sc.base) / time.Minute)
	if sc.counts[ep] == nil {
		sc.counts[ep] = map[int]*rollupCounts{}
	}
	c := sc.counts[ep][m]
	if c == nil {
		c = &rollupCounts{}
		sc.counts[ep][m] = c
	}
	switch d.Status {
	case hook.DeliverySucceeded:
		c.succ++
		c.hist = c.hist.Observe(at.Add(rollupAttemptDur).Sub(evAt))
	case hook.DeliveryFailed:
		c.failed++
		c.exh++
	default:
		c.failed++
	}
	// The last attempt: the latest started, the later recorded on a tie.
	last := sc.lastFails[ep]
	if last == nil || !at.Before(last.at) {
		sc.lastFails[ep] = &rollupLast{at: at, status: status, failed: d.Status != hook.DeliverySucceeded}
	}
}

// round1 records 45 attempts over the first three minutes (successes of
// latencies from 20 ms to 1 s, failed attempts, exhausted deliveries),
// then, in the fourth, the endpoints' last attempts, some out of order:
// eA2's failure recorded after a later one, eB1's success started at the
// same millisecond as its failure and recorded after it.
func (sc *rollupScenario) round1(h *h) {
	pending := hook.Decision{Status: hook.DeliveryPending, NextAttemptAt: h.at(time.Hour)}
	for i := range 45 {
		ep := sc.eps[i%3]
		at := sc.base.Add(time.Duration(i/15)*time.Minute + time.Duration(i)*900*time.Millisecond)
		switch {
		case i%5 == 0:
			sc.one(h, ep, at.Add(-time.Minute), at, 503, pending)
		case i%7 == 0:
			sc.one(h, ep, at.Add(-time.Hour), at, 500, hook.Decision{Status: hook.DeliveryFailed})
		default:
			lat := time.Duration(i*37%50+1) * 20 * time.Millisecond
			sc.one(h, ep, at.Add(rollupAttemptDur-lat), at, 200, hook.Decision{Status: hook.DeliverySucceeded})
		}
	}
	m3 := sc.base.Add(3 * time.Minute)
	ok := hook.Decision{Status: hook.DeliverySucceeded}
	eA1, eA2, eB1 := sc.eps[0], sc.eps[1], sc.eps[2]
	sc.one(h, eA1, m3, m3.Add(10*time.Second), 200, ok)
	sc.one(h, eA2, m3, m3.Add(40*time.Second), 502, pending)
	sc.one(h, eA2, m3, m3.Add(20*time.Second), 504, pending)
	sc.one(h, eB1, m3, m3.Add(30*time.Second), 500, pending)
	sc.one(h, eB1, m3, m3.Add(30*time.Second), 200, ok)
}

// round2 adds to the rows round1 wrote: more successes and failures in
// every minute, eA1 failing last, and eA2's last failure replaced by one
// started at the same millisecond.
func (sc *rollupScenario) round2(h *h) {
	pending := hook.Decision{Status: hook.DeliveryPending, NextAttemptAt: h.at(time.Hour)}
	for i := range 12 {
		ep := sc.eps[i%3]
		at := sc.base.Add(time.Duration(i%3)*time.Minute + time.Duration(i)*2*time.Second + 500*time.Millisecond)
		if i%4 == 0 {
			sc.one(h, ep, at, at, 429, pending)
			continue
		}
		lat := time.Duration(i+1) * 150 * time.Millisecond
		sc.one(h, ep, at.Add(rollupAttemptDur-lat), at, 204, hook.Decision{Status: hook.DeliverySucceeded})
	}
	m3 := sc.base.Add(3 * time.Minute)
	sc.one(h, sc.eps[0], m3, m3.Add(50*time.Second), 0, pending)
	sc.one(h, sc.eps[1], m3, m3.Add(40*time.Second), 503, pending)
}

// check reads the window by endpoint, by app and for every app, and
// compares each bucket and the troubled endpoints with the attempts.
func (sc *rollupScenario) check(h *h, what string) {
	t := h.t
	t.Helper()
	read := func(appID, epID string) *store.Stats {
		t.Helper()
		st, err := h.s.Stats(h.ctx, &store.StatsParams{AppID: appID, EndpointID: epID, Since: sc.base,
			Until: sc.base.Add(4 * time.Minute), Bucket: time.Minute, Now: h.now})
		must(t, err, "Stats")
		return st
	}
	want := func(eps ...string) []rollupCounts {
		out := make([]rollupCounts, 4)
		for _, ep := range eps {
			for m, c := range sc.counts[ep] {
				o := &out[m]
				o.succ, o.failed, o.exh = o.succ+c.succ, o.failed+c.failed, o.exh+c.exh
				o.hist = o.hist.Add(c.hist)
			}
		}
		return out
	}
	durEq := func(got, want *time.Duration) bool {
		return (got == nil) == (want == nil) && (got == nil || *got == *want)
	}
	compare := func(st *store.Stats, w []rollupCounts, scope string) {
		t.Helper()
		eq(t, len(st.Buckets), len(w), what+": "+scope+": buckets")
		for i, b := range st.Buckets {
			wantTime(t, b.Start, sc.base.Add(time.Duration(i)*time.Minute), what+": "+scope+": bucket start")
			got := [3]int64{b.Succeeded, b.FailedAttempts, b.Exhausted}
			if exp := [3]int64{w[i].succ, w[i].failed, w[i].exh}; got != exp {
				t.Fatalf("%s: %s: minute %d: got succeeded, failed attempts, exhausted %v, want %v", what, scope, i, got, exp)
			}
			p50, p99 := w[i].hist.Quantile(0.50), w[i].hist.Quantile(0.99)
			if !durEq(b.P50, p50) || !durEq(b.P99, p99) {
				t.Fatalf("%s: %s: minute %d: got p50 %v p99 %v, want %v %v", what, scope, i,
					fmtDur(b.P50), fmtDur(b.P99), fmtDur(p50), fmtDur(p99))
			}
		}
	}
	troubled := func(st *store.Stats, eps []string, scope string) {
		t.Helper()
		var exp []string
		for _, ep := range eps {
			if l := sc.lastFails[ep]; l != nil && l.failed {
				exp = append(exp, ep)
			}
		}
		// Newest last attempt first.
		for i := range exp {
			for j := i + 1; j < len(exp); j++ {
				if sc.lastFails[exp[j]].at.After(sc.lastFails[exp[i]].at) {
					exp[i], exp[j] = exp[j], exp[i]
				}
			}
		}
		got := make([]string, len(st.Troubled))
		for i, tr := range st.Troubled {
			got[i] = tr.EndpointID
		}
		deepEq(t, got, append([]string{}, exp...), what+": "+scope+": troubled endpoints")
		for i, tr := range st.Troubled {
			l := sc.lastFails[exp[i]]
			wantTimePtr(t, tr.LastAttemptAt, l.at, what+": "+scope+": last attempt of "+tr.EndpointID)
			eq(t, tr.LastResponseStatus, l.status, what+": "+scope+": last status of "+tr.EndpointID)
			eq(t, tr.LastErrorKind, hook.ErrorKindStatus, what+": "+scope+": last error kind of "+tr.EndpointID)
			eq(t, tr.LastError, fmt.Sprintf("status %d", l.status), what+": "+scope+": last error of "+tr.EndpointID)
			eq(t, tr.State, store.EndpointStateFailing, what+": "+scope+": state of "+tr.EndpointID)
		}
	}
	eA1, eA2, eB1 := sc.eps[0], sc.eps[1], sc.eps[2]
	for _, ep := range sc.eps {
		st := read(sc.epApp[ep], ep)
		compare(st, want(ep), "endpoint "+ep)
		troubled(st, []string{ep}, "endpoint "+ep)
	}
	stA := read(sc.appA, "")
	compare(stA, want(eA1, eA2), "app A")
	troubled(stA, []string{eA1, eA2}, "app A")
	stB := read(sc.appB, "")
	compare(stB, want(eB1), "app B")
	troubled(stB, []string{eB1}, "app B")
	stAll := read("", "")
	compare(stAll, want(sc.eps...), "every app")
	troubled(stAll, sc.eps, "every app")
}

func fmtDur(d *time.Duration) string {
	if d == nil {
		return "nil"
	}
	return d.String()
}
