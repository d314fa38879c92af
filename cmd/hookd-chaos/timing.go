package main

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// earlyAllowance is how much sooner than its wait a retry may start, as
// measured here: none. hookd stores started_at and next_attempt_at
// truncated to the millisecond and an attempt's duration rounded down, and
// an attempt's recorded start (taken before rendering) plus its duration
// is no later than the moment its wait is counted from. A retry is claimed
// only once the stored next_attempt_at has passed, and starts after its
// claim, so every truncation can only lengthen the measured gap: with one
// clock (every node runs on this machine) a correct hookd never measures
// early, not even by a millisecond.
const earlyAllowance time.Duration = 0

// waitAfter is the least and the most hookd may wait after attempt a
// before the next attempt: the schedule's entry for a's number plus up to
// 10% jitter, or exactly Retry-After after a 429. ok is false after the
// last scheduled attempt.
func waitAfter(a *attempt) (lo, hi time.Duration, ok bool) {
	if a.Number < 1 || a.Number > len(retrySchedule) {
		return 0, 0, false
	}
	if a.ResponseStatus == 429 {
		return retryAfter, retryAfter, true
	}
	lo = retrySchedule[a.Number-1]
	return lo, lo + lo/10, true
}

// gap is the measured wait before one retry of a delivery.
type gap struct {
	from, to   int           // attempt numbers
	status     int           // the response status of attempt from
	errorKind  string        // and its error kind
	end, start time.Time     // the end of attempt from, the start of attempt to
	lo, hi     time.Duration // the wait allowed, as waitAfter
}

// took is the measured wait.
func (g gap) took() time.Duration { return g.start.Sub(g.end) }

// margin is how much longer than the least allowed wait the retry waited;
// negative when it came early.
func (g gap) margin() time.Duration { return g.took() - g.lo }

// early reports that the retry started sooner than its wait allows.
func (g gap) early() bool { return g.margin() < -earlyAllowance }

// attemptEnd is when attempt a ended, as recorded.
func attemptEnd(a *attempt) time.Time {
	return a.StartedAt.Add(time.Duration(a.DurationMillis) * time.Millisecond)
}

// measureGaps returns the wait before each scheduled retry of a delivery
// whose attempts are atts (as recorded, oldest first), and how many
// attempts repeat a number already recorded. A repeat is a lease taken
// over: a node that stalled past its lease, or died after sending, while
// another node sent the same attempt; both are recorded, and only the
// lease holder's decided the next attempt's time, so a retry is measured
// from whichever attempt of the number before it leaves it the widest
// margin (with one attempt per number, as usual, that is just the one).
func measureGaps(atts []*attempt) (gaps []gap, repeats int) {
	byNumber := map[int][]*attempt{}
	for _, a := range atts {
		if len(byNumber[a.Number]) > 0 {
			repeats++
		}
		byNumber[a.Number] = append(byNumber[a.Number], a)
	}
	for _, b := range atts {
		if b.Trigger != "scheduled" {
			continue
		}
		var best *gap
		for _, a := range byNumber[b.Number-1] {
			if a.Trigger != "scheduled" {
				continue
			}
			lo, hi, ok := waitAfter(a)
			if !ok {
				continue
			}
			g := gap{from: a.Number, to: b.Number, status: a.ResponseStatus, errorKind: a.ErrorKind,
				end: attemptEnd(a), start: b.StartedAt, lo: lo, hi: hi}
			if best == nil || g.margin() > best.margin() {
				best = &g
			}
		}
		if best != nil {
			gaps = append(gaps, *best)
		}
	}
	return gaps, repeats
}

// showGaps is how many retry gaps retryTiming prints (-show-gaps).
var showGaps int

// timing holds retry timing errors in milliseconds, by bucket, and the
// retries that came early.
type timing struct {
	normal, afterKill, late []float64
	early                   []string // one line per early retry
	earlyCount              int
	repeats                 int // attempts recorded twice (a lease taken over)
	samples, gaps           int
	minMargin               time.Duration
	readErrors              int
}

// retryTiming reads every delivery with at least two attempts, on every
// endpoint, and measures each retry's wait against the schedule.
// deliveries holds each receiver's deliveries, by event id.
func retryTiming(nodes []*node, appID string, recvs []*receiver, deliveries map[string]map[string]*delivery, kills []killRecord) *timing {
	type job struct {
		kind string
		id   string
	}
	var jobs []job
	for _, r := range recvs {
		var ids []string
		for _, d := range deliveries[r.kind] {
			if d.AttemptCount >= 2 {
				ids = append(ids, d.ID)
			}
		}
		sort.Strings(ids)
		for _, id := range ids {
			jobs = append(jobs, job{r.kind, id})
		}
	}
	t := &timing{minMargin: time.Duration(1<<63 - 1)}
	var mu sync.Mutex
	next := make(chan job)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				var d delivery
				if err := anyCall(nodes, "/v1/apps/"+appID+"/deliveries/"+j.id, &d); err != nil {
					mu.Lock()
					t.readErrors++
					mu.Unlock()
					continue
				}
				gaps, repeats := measureGaps(d.Attempts)
				mu.Lock()
				t.add(j.kind, d.ID, gaps, repeats, kills)
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	return t
}

// add files one delivery's gaps.
func (t *timing) add(kind, deliveryID string, gaps []gap, repeats int, kills []killRecord) {
	t.samples++
	t.repeats += repeats
	for _, g := range gaps {
		t.gaps++
		t.minMargin = min(t.minMargin, g.margin())
		var e time.Duration
		switch {
		case g.took() < g.lo:
			e = g.lo - g.took()
		case g.took() > g.hi:
			e = g.took() - g.hi
		}
		if g.early() {
			t.earlyCount++
			if len(t.early) < 10 {
				t.early = append(t.early, fmt.Sprintf("%s %s: attempt %d started %s after attempt %d ended (status %d %s), but the wait is %s: %s early",
					kind, deliveryID, g.to, g.took(), g.from, g.status, g.errorKind, g.lo, g.lo-g.took()))
			}
		}
		ms := float64(e) / float64(time.Millisecond)
		nearKill := false
		for _, kr := range kills {
			if g.end.Before(kr.ready) && g.start.After(kr.at) {
				nearKill = true
			}
		}
		if showGaps > 0 {
			showGaps--
			fmt.Printf("  gap %s %s #%d->#%d (status %d %s): %s, want %s..%s, near kill %v\n", kind, deliveryID, g.from, g.to,
				g.status, g.errorKind, g.took().Round(time.Millisecond), g.lo, g.hi, nearKill)
		}
		switch {
		case nearKill:
			t.afterKill = append(t.afterKill, ms)
		case e > time.Second:
			t.late = append(t.late, ms)
		default:
			t.normal = append(t.normal, ms)
		}
	}
}

func stats(v []float64) string {
	if len(v) == 0 {
		return "none"
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return fmt.Sprintf("%d gaps, median %.0f ms, max %.0f ms", len(s), s[len(s)/2], s[len(s)-1])
}

func (t *timing) print() {
	fmt.Printf("retry timing error (%d gaps in %d deliveries with retries, every one read; 0 = within wait..wait+10%%, after a 429 exactly Retry-After %s)\n",
		t.gaps, t.samples, retryAfter)
	fmt.Printf("  no kill nearby, <=1s off: %s\n", stats(t.normal))
	fmt.Printf("  no kill nearby, >1s late: %s (circuit breaker cooldown or a slow claim)\n", stats(t.late))
	fmt.Printf("  spanning a kill (+lease): %s\n", stats(t.afterKill))
	if t.gaps > 0 {
		fmt.Printf("  closest to its wait:      %s after it\n", t.minMargin)
	}
	fmt.Printf("  early (allowance %s):      %d\n", earlyAllowance, t.earlyCount)
	fmt.Printf("  attempts recorded twice:  %d (a lease taken over after a kill or a stall)\n", t.repeats)
	if t.readErrors > 0 {
		fmt.Printf("  deliveries not read:      %d\n", t.readErrors)
	}
}
