package dispatch

import (
	"time"

	"github.com/hookd/hookd/internal/hook"
)

// concurrencyOf is the endpoint's concurrency limit: its own MaxConcurrency
// when set, never more than the deployment's EndpointConcurrency.
func (d *Dispatcher) concurrencyOf(q *endpointQueue) int {
	if q.ep != nil && q.ep.Ordering == hook.OrderingFIFO {
		return 1
	}
	if q.ep != nil && q.ep.MaxConcurrency > 0 {
		return min(q.ep.MaxConcurrency, d.cfg.EndpointConcurrency)
	}
	return d.cfg.EndpointConcurrency
}

// rateShare is this process's share of the endpoint's rate limit: the
// limit divided among the processes sending to it (those holding its
// slots), so that together they keep to it.
func rateShare(ep *hook.Endpoint, others int) float64 {
	return ep.RateLimit / float64(others+1)
}

// bucket is an endpoint's rate limit state: a token bucket. It outlives
// the endpoint's queue (which goes when idle), so that a trickle of
// deliveries cannot refill it by going idle between them.
type bucket struct {
	tokens float64
	at     time.Time
	waking bool // a timer will put the queue back in turn
}

// takeTokenLocked takes one token of q's rate limit for an attempt about
// to start, or, when there is none, arranges for q's endpoint to take its
// turn again once there is and reports false. The bucket holds one
// second's worth of tokens (at least one). Caller holds d.mu.
func (d *Dispatcher) takeTokenLocked(q *endpointQueue) bool {
	id := q.ep.ID
	rate := rateShare(q.ep, q.others)
	burst := max(rate, 1)
	now := d.clock.Now()
	b := d.buckets[id]
	if b == nil {
		if len(d.buckets) >= 4096 {
			d.pruneBucketsLocked(now)
		}
		b = &bucket{tokens: burst, at: now}
		d.buckets[id] = b
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.at).Seconds()*rate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	if !b.waking {
		b.waking = true
		wait := time.Duration((1 - b.tokens) / rate * float64(time.Second))
		d.clock.AfterFunc(max(wait, time.Millisecond), func() {
			d.mu.Lock()
			defer d.mu.Unlock()
			b.waking = false
			if q := d.endpoints[id]; q != nil && q.queued() > 0 && !q.inReady {
				q.inReady = true
				d.ready = append(d.ready, q)
				d.scheduleLocked()
			}
		})
	}
	return false
}

// pruneBucketsLocked forgets the buckets that idleness has filled again
// (those of endpoints with no rate limit any more go too): forgetting
// them changes nothing. Caller holds d.mu.
func (d *Dispatcher) pruneBucketsLocked(now time.Time) {
	for id, b := range d.buckets {
		if !b.waking && now.Sub(b.at) > 10*time.Second {
			delete(d.buckets, id)
		}
	}
}
