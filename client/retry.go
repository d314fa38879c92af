package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy says when a Client sends a request again.
//
// A request is retried only when it is idempotent: GET, HEAD, PUT, DELETE
// and OPTIONS, and a POST that carries an Idempotency-Key header (hookd
// takes one on event publishing: the same key publishes the event once;
// [Client.PublishEvent] sends the event's id as one when it has an id).
// PATCH and other POSTs are never retried, since hookd could have acted on
// them before answering.
//
// It is retried only when answered 429 (rate limited) or 503 (unavailable,
// e.g. the store, or the node's request body budget), after the
// Retry-After the answer gives (seconds or an HTTP date), or, when it gives
// none, after Backoff doubled at each retry. A Retry-After longer than
// MaxWait is not waited for: the answer is returned, as an [*Error] with
// RetryAfter set. Errors of the transport (connection refused, timeouts)
// are returned, not retried.
type RetryPolicy struct {
	// MaxRetries is how many times a request may be sent again after its
	// first attempt; 0 never retries.
	MaxRetries int
	// MaxWait bounds one wait; 0 means no bound.
	MaxWait time.Duration
	// Backoff is the first wait when the answer has no Retry-After
	// (doubled at each retry); 0 means one second.
	Backoff time.Duration
	// Sleep waits d or until ctx is done (then returning its error); nil
	// means a timer. Tests set it to record waits instead of sleeping.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock that an HTTP-date Retry-After is read against; nil
	// means time.Now.
	Now func() time.Time
}

// DefaultRetryPolicy is a Client's retry policy unless [WithRetryPolicy]
// says otherwise: up to 3 retries, waiting at most 30 seconds each.
var DefaultRetryPolicy = RetryPolicy{MaxRetries: 3, MaxWait: 30 * time.Second, Backoff: time.Second}

// idempotent reports whether r may be sent again.
func idempotent(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	case http.MethodPost:
		return r.Header.Get("Idempotency-Key") != ""
	}
	return false
}

// retryable reports whether an answer of this status may be retried.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}

// send sends r with hc, and again under the policy.
func (p RetryPolicy) send(r *http.Request, hc *http.Client) (*http.Response, error) {
	ctx := r.Context()
	may := idempotent(r) && (r.Body == nil || r.Body == http.NoBody || r.GetBody != nil)
	for attempt := 0; ; attempt++ {
		if attempt > 0 && r.GetBody != nil {
			body, err := r.GetBody()
			if err != nil {
				return nil, fmt.Errorf("client: rewinding the request body: %w", err)
			}
			r.Body = body
		}
		resp, err := hc.Do(r)
		if err != nil || !may || attempt >= p.MaxRetries || !retryable(resp.StatusCode) {
			return resp, err
		}
		wait, ok := p.wait(resp.Header.Get("Retry-After"), attempt)
		if !ok {
			return resp, nil
		}
		// The answer is dropped: read a little of it so that the
		// connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		sleep := p.Sleep
		if sleep == nil {
			sleep = sleepContext
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// wait returns how long to wait before retry number attempt+1 of a request
// answered with this Retry-After, and false when that is longer than
// MaxWait.
func (p RetryPolicy) wait(retryAfter string, attempt int) (time.Duration, bool) {
	d, ok := p.parseRetryAfter(retryAfter)
	if !ok {
		d = p.Backoff
		if d == 0 {
			d = time.Second
		}
		for range min(attempt, 20) {
			d *= 2
		}
		if p.MaxWait > 0 && d > p.MaxWait {
			d = p.MaxWait
		}
		return d, true
	}
	if p.MaxWait > 0 && d > p.MaxWait {
		return 0, false
	}
	return d, true
}

// parseRetryAfter reads a Retry-After header: delta-seconds or an HTTP
// date (RFC 9110 section 10.2.3).
func (p RetryPolicy) parseRetryAfter(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	return max(0, t.Sub(now())), true
}
