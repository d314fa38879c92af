package main

import (
	"strings"
	"testing"
	"time"
)

func TestJudge(t *testing.T) {
	t.Parallel()
	recoverAt := time.Date(2026, 1, 1, 12, 0, 4, 0, time.UTC)
	before, after := recoverAt.Add(-time.Millisecond), recoverAt.Add(time.Millisecond)
	dl := func(status string, attempts int, last time.Time) *delivery {
		return &delivery{ID: "dlv_1", Status: status, AttemptCount: attempts, LastAttemptAt: &last}
	}
	full := maxAttempts()
	tests := []struct {
		name     string
		class    outcomeClass
		d        *delivery
		answered bool
		bucket   string
		breach   string // a part of the breach, "" for none
	}{
		{"succeeded", alwaysSucceeds, dl("succeeded", 1, before), true, bucketReceived, ""},
		{"no delivery", alwaysSucceeds, nil, false, bucketLost, "no delivery"},
		{"succeeded unanswered", recovers, dl("succeeded", 1, before), false, bucketLost, "never answered 2xx"},
		{"paused", recovers, dl("paused", 2, before), false, bucketLost, "status paused"},
		{"healthy failed", alwaysSucceeds, dl("failed", full, before), true, bucketFailed, "never refuses"},
		{"healthy pending", alwaysSucceeds, dl("pending", 1, before), false, bucketPending, "still pending"},
		{"recovers failed after recovery", recovers, dl("failed", full, after), false, bucketFailed, "after the receiver had recovered"},
		{"recovers failed before recovery", recovers, dl("failed", full, before), false, bucketFailed, ""},
		{"recovers gave up early", recovers, dl("failed", 1, before), false, bucketFailed, "after 1 of its"},
		{"recovers pending", recovers, dl("pending", 3, after), false, bucketPending, "still pending"},
		{"tls pending", unreachable, dl("pending", 2, after), false, bucketPending, ""},
		{"tls pending, no attempt", unreachable, &delivery{ID: "dlv_1", Status: "pending"}, false, bucketPending, ""},
		{"tls failed", unreachable, dl("failed", full, after), false, bucketFailed, ""},
		{"tls gave up early", unreachable, dl("failed", full-1, after), false, bucketFailed, "failed after"},
		{"tls succeeded", unreachable, dl("succeeded", 1, after), false, bucketReceived, "must not trust"},
		{"tls answered", unreachable, dl("pending", 2, after), true, bucketPending, "must not trust"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bucket, breach := judge(tt.class, tt.d, tt.answered, recoverAt)
			if bucket != tt.bucket {
				t.Errorf("bucket %q, want %q", bucket, tt.bucket)
			}
			switch {
			case tt.breach == "" && breach != "":
				t.Errorf("breach %q, want none", breach)
			case tt.breach != "" && !strings.Contains(breach, tt.breach):
				t.Errorf("breach %q, want one containing %q", breach, tt.breach)
			}
		})
	}
}

func TestEveryReceiverHasAClass(t *testing.T) {
	t.Parallel()
	for _, k := range receiverKinds {
		if _, ok := receiverClasses[k]; !ok {
			t.Errorf("receiver %q has no outcome class", k)
		}
	}
	if len(receiverClasses) != len(receiverKinds) {
		t.Errorf("%d classes for %d receivers", len(receiverClasses), len(receiverKinds))
	}
}

func TestMeasureGaps(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	// at makes an attempt that starts ms after t0 and lasts dur ms.
	at := func(number int, ms, dur int64, status int) *attempt {
		return &attempt{Number: number, Trigger: "scheduled", StartedAt: t0.Add(time.Duration(ms) * time.Millisecond),
			DurationMillis: dur, ResponseStatus: status}
	}
	first := retrySchedule[0].Milliseconds()  // the wait after attempt 1
	second := retrySchedule[1].Milliseconds() // after attempt 2
	ra := retryAfter.Milliseconds()
	manual := at(3, 5000, 3, 0)
	manual.Trigger = "manual"
	tests := []struct {
		name    string
		atts    []*attempt
		margins []int64 // each gap's margin, ms
		early   int
		repeats int
	}{
		{"on time", []*attempt{at(1, 0, 10, 500), at(2, 10+first, 5, 500)}, []int64{0}, 0, 0},
		{"late", []*attempt{at(1, 0, 10, 500), at(2, 10+first+40, 5, 200)}, []int64{40}, 0, 0},
		{"a millisecond early", []*attempt{at(1, 0, 10, 500), at(2, 10+first-1, 5, 200)}, []int64{-1}, 1, 0},
		{"from the start, not the end", []*attempt{at(1, 0, 2000, 0), at(2, first+500, 5, 200)}, []int64{-1500}, 1, 0},
		{"after a 429, Retry-After", []*attempt{at(1, 0, 2, 429), at(2, 2+ra, 2, 200)}, []int64{0}, 0, 0},
		{"after a 429, the schedule's entry is too soon", []*attempt{at(1, 0, 2, 429), at(2, 2+first, 2, 200)}, []int64{first - ra}, 1, 0},
		{"three attempts", []*attempt{at(1, 0, 1, 500), at(2, 1+first, 1, 500), at(3, 2+first+second+7, 1, 200)}, []int64{0, 7}, 0, 0},
		{
			// A node stalled past its lease: another sent attempt 2 too,
			// and decided attempt 3's time from its own end.
			"lease taken over",
			[]*attempt{at(1, 0, 1, 500), at(2, 1+first, 3500, 500), at(2, 1+first+3000, 2, 500), at(3, 1+first+3000+2+second, 1, 200)},
			[]int64{0, 3000, 0}, 0, 1,
		},
		{"manual retries are not scheduled", []*attempt{at(1, 0, 1, 500), at(2, 1+first, 1, 500), manual}, []int64{0}, 0, 0},
		{"after the last attempt", []*attempt{at(len(retrySchedule)+1, 0, 1, 500), at(len(retrySchedule)+2, 5, 1, 500)}, nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gaps, repeats := measureGaps(tt.atts)
			if repeats != tt.repeats {
				t.Errorf("repeats %d, want %d", repeats, tt.repeats)
			}
			if len(gaps) != len(tt.margins) {
				t.Fatalf("%d gaps, want %d: %+v", len(gaps), len(tt.margins), gaps)
			}
			early := 0
			for i, g := range gaps {
				if got := g.margin().Milliseconds(); got != tt.margins[i] {
					t.Errorf("gap %d (#%d->#%d): margin %d ms, want %d", i, g.from, g.to, got, tt.margins[i])
				}
				if g.early() {
					early++
				}
			}
			if early != tt.early {
				t.Errorf("%d early, want %d", early, tt.early)
			}
		})
	}
}

func TestTimingCountsEarlyRetries(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	g := gap{from: 1, to: 2, status: 500, errorKind: "status", end: t0, start: t0.Add(retrySchedule[0] - time.Millisecond),
		lo: retrySchedule[0], hi: retrySchedule[0] + retrySchedule[0]/10}
	tm := &timing{minMargin: time.Hour}
	tm.add("500", "dlv_1", []gap{g}, 0, nil)
	if tm.earlyCount != 1 || len(tm.early) != 1 || !strings.Contains(tm.early[0], "1ms early") {
		t.Errorf("early %d %q, want one retry 1ms early", tm.earlyCount, tm.early)
	}
	if tm.minMargin != -time.Millisecond {
		t.Errorf("closest margin %s, want -1ms", tm.minMargin)
	}
}

func TestExpectationsNameEveryClass(t *testing.T) {
	t.Parallel()
	text := expectations(4 * time.Second)
	for _, want := range []string{"healthy, slow", "500, 429, hang, reset, redirect", "none can end failed", "tls", "badsig = 0", "allowance 0s"} {
		if !strings.Contains(text, want) {
			t.Errorf("expectations lack %q:\n%s", want, text)
		}
	}
	if text := expectations(time.Minute); !strings.Contains(text, "only if its last attempt started before +1m0s") {
		t.Errorf("a long fault period's expectations should allow failures before recovery:\n%s", text)
	}
}
