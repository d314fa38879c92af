package hook

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// DefaultRetrySchedule is the wait before each retry: 8 attempts over about 28 h.
var DefaultRetrySchedule = RetrySchedule{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
}

// RetrySchedule lists the waits before retry 1, 2, ... A delivery gets
// len(schedule)+1 scheduled attempts.
type RetrySchedule []time.Duration

// ParseRetrySchedule reads a comma-separated list of Go durations.
func ParseRetrySchedule(s string) (RetrySchedule, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return RetrySchedule{}, nil
	}
	var out RetrySchedule
	for _, part := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("retry schedule: %w", err)
		}
		if d <= 0 {
			return nil, fmt.Errorf("retry schedule: %q is not positive", part)
		}
		out = append(out, d)
	}
	return out, nil
}

// String returns the schedule in the form ParseRetrySchedule reads.
func (s RetrySchedule) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

// MaxAttempts is the number of scheduled attempts a delivery gets.
func (s RetrySchedule) MaxAttempts() int { return len(s) + 1 }

// Jitter spreads a wait so that retries of many deliveries do not arrive
// together: it returns a duration in [d, d*(1+fraction)).
type Jitter func(d time.Duration) time.Duration

// DefaultJitter adds up to 10% to each wait.
func DefaultJitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}

// NoJitter leaves waits as they are (for tests and strict schedules).
func NoJitter(d time.Duration) time.Duration { return d }

// MaxRetryAfter caps how long a receiver's Retry-After can delay a retry.
const MaxRetryAfter = time.Hour

// Outcome is what an attempt produced, as the dispatcher saw it.
type Outcome struct {
	// StatusCode is the response's HTTP status, 0 if no response came.
	StatusCode int
	// ErrorKind is one of the ErrorKind constants, "" on success.
	ErrorKind string
	// RetryAfter is the receiver's Retry-After on a 429 or 503, 0 if none.
	RetryAfter time.Duration
}

// Succeeded reports whether the attempt delivered the event.
func (o Outcome) Succeeded() bool {
	return o.ErrorKind == "" && o.StatusCode >= 200 && o.StatusCode < 300
}

// Decision is what becomes of a delivery after an attempt.
type Decision struct {
	Status        string    // DeliveryPending, DeliverySucceeded or DeliveryFailed
	NextAttemptAt time.Time // when Status is DeliveryPending
	// DisableEndpoint is set when the receiver answered 410 Gone.
	DisableEndpoint bool
}

// Decide applies the retry rules. scheduledAttempts counts the scheduled
// attempts made so far including this one; manual reports that this attempt
// was a manual retry, which is a single attempt: it never schedules another.
func (s RetrySchedule) Decide(o Outcome, scheduledAttempts int, manual bool, now time.Time, jitter Jitter) Decision {
	if o.Succeeded() {
		return Decision{Status: DeliverySucceeded}
	}
	if o.StatusCode == 410 {
		return Decision{Status: DeliveryFailed, DisableEndpoint: true}
	}
	scheduledAttempts = max(scheduledAttempts, 1)
	if manual || scheduledAttempts >= s.MaxAttempts() {
		return Decision{Status: DeliveryFailed}
	}
	wait := s[scheduledAttempts-1]
	if jitter != nil {
		wait = jitter(wait)
	}
	if (o.StatusCode == 429 || o.StatusCode == 503) && o.RetryAfter > 0 {
		wait = min(o.RetryAfter, MaxRetryAfter)
	}
	return Decision{Status: DeliveryPending, NextAttemptAt: now.Add(wait)}
}
