package main

import (
	"fmt"
	"strings"
	"time"
)

// What the run promises, spelled out: the harness fails on any breach of
// these, not only on a lost event.

// outcomeClass says how every delivery to a receiver of one kind must end,
// given how that receiver misbehaves.
type outcomeClass int

const (
	// alwaysSucceeds: the receiver never refuses a request (healthy; slow,
	// whose 500 ms answers fit the attempt timeout). Every delivery must
	// end succeeded, with the receiver having answered 2xx to it.
	alwaysSucceeds outcomeClass = iota
	// recovers: the receiver fails every other request in alternate
	// windows until the schedule's recoverAfter, and never after. Every
	// delivery must end succeeded, unless all its attempts were used up
	// and the last one started before recovery (only then could every
	// attempt have met a fault). A delivery's last attempt comes at least
	// the schedule's total wait after its first, so when recovery comes
	// sooner than that (as with the default flags) none may end failed.
	recovers
	// unreachable: a TLS receiver whose certificate hookd must not trust.
	// No request may reach it and no delivery may succeed; deliveries stay
	// pending (the circuit breaker lets one probe through per cooldown) or
	// end failed after all their attempts.
	unreachable
)

// receiverClasses is the outcome class of each receiver kind newReceivers
// makes.
var receiverClasses = map[string]outcomeClass{
	"healthy":  alwaysSucceeds,
	"slow":     alwaysSucceeds,
	"500":      recovers,
	"429":      recovers,
	"hang":     recovers,
	"reset":    recovers,
	"redirect": recovers,
	"tls":      unreachable,
}

// maxAttempts is how many scheduled attempts a delivery gets.
func maxAttempts() int { return len(retrySchedule) + 1 }

// totalWait is the least time from a delivery's first attempt to its last.
func totalWait() time.Duration {
	var t time.Duration
	for _, d := range retrySchedule {
		t += d
	}
	return t
}

// Buckets a (delivery, endpoint) pair ends in, the columns of the summary.
const (
	bucketReceived = "received" // hookd: succeeded; the receiver answered 2xx
	bucketFailed   = "failed"
	bucketPending  = "pending"
	bucketLost     = "lost" // no delivery, or one that claims what did not happen
)

// judge puts one accepted event's delivery to a receiver of class c in a
// bucket and says why its end breaks the class's promise ("" if it does
// not). d is nil when hookd has no delivery for the event; answered
// reports that the receiver answered 2xx to the event at least once;
// recoverAt is when the misbehaving receivers recovered for good.
func judge(c outcomeClass, d *delivery, answered bool, recoverAt time.Time) (bucket, breach string) {
	switch {
	case d == nil:
		return bucketLost, "no delivery"
	case d.Status == "succeeded" && (answered || c == unreachable):
		bucket = bucketReceived
	case d.Status == "succeeded":
		return bucketLost, "status succeeded, but the receiver never answered 2xx"
	case d.Status == "failed":
		bucket = bucketFailed
	case d.Status == "pending":
		bucket = bucketPending
	default:
		return bucketLost, fmt.Sprintf("status %s", d.Status)
	}
	if c == unreachable {
		switch {
		case answered || bucket == bucketReceived:
			return bucket, "delivered to a receiver whose certificate hookd must not trust"
		case bucket == bucketFailed && d.AttemptCount < maxAttempts():
			return bucket, fmt.Sprintf("failed after %d of its %d attempts", d.AttemptCount, maxAttempts())
		}
		return bucket, ""
	}
	switch bucket {
	case bucketPending:
		return bucket, fmt.Sprintf("still pending after %d attempts", d.AttemptCount)
	case bucketFailed:
		if d.AttemptCount < maxAttempts() {
			return bucket, fmt.Sprintf("failed after %d of its %d attempts", d.AttemptCount, maxAttempts())
		}
		if c == alwaysSucceeds {
			return bucket, "failed, but this receiver never refuses a request"
		}
		if d.LastAttemptAt == nil || !d.LastAttemptAt.Before(recoverAt) {
			return bucket, "failed, but its last attempt came after the receiver had recovered"
		}
	}
	return bucket, ""
}

// expectations describes, for the run's output, what the run fails on.
// recoverAfter is when the misbehaving receivers recover, after the pour
// starts.
func expectations(recoverAfter time.Duration) string {
	var b strings.Builder
	kinds := func(c outcomeClass) string {
		var ks []string
		for _, k := range receiverKinds {
			if receiverClasses[k] == c {
				ks = append(ks, k)
			}
		}
		return strings.Join(ks, ", ")
	}
	recovered := fmt.Sprintf("their faults stop at +%s and a delivery's %d attempts span at least %s",
		recoverAfter.Round(100*time.Millisecond), maxAttempts(), totalWait())
	if recoverAfter < totalWait() {
		recovered += ", so none can end failed"
	} else {
		recovered += ", so one may end failed only if its last attempt started before +" + recoverAfter.Round(100*time.Millisecond).String()
	}
	fmt.Fprintln(&b, "the run fails unless:")
	fmt.Fprintf(&b, "  %-32s every delivery succeeds (the receiver never refuses)\n", kinds(alwaysSucceeds))
	fmt.Fprintf(&b, "  %-32s every delivery succeeds: %s\n", kinds(recovers), recovered)
	fmt.Fprintf(&b, "  %-32s no request gets through (hookd must not trust its certificate); deliveries stay pending or fail after %d attempts\n",
		kinds(unreachable), maxAttempts())
	fmt.Fprintf(&b, "  %-32s every accepted event has a delivery to every endpoint (lost = 0)\n", "every event")
	fmt.Fprintf(&b, "  %-32s every request's signature verifies (badsig = 0)\n", "every receiver")
	fmt.Fprintf(&b, "  %-32s starts no earlier than its wait after the attempt before it ended: the schedule's entry (jitter only adds), or Retry-After (%s) after a 429; allowance %s\n",
		"every retry", retryAfter, earlyAllowance)
	return b.String()
}
