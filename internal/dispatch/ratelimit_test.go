package dispatch

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/store"
)

func TestEndpointRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	rc := newReceiver(t, nil)
	e.endpoint(rc.URL, func(p *store.CreateEndpointParams) { p.RateLimit = 2 })
	fast := newReceiver(t, nil)
	e.endpoint(fast.URL, nil)
	for range 7 {
		e.publish("order.created", `{}`)
	}
	waitFor(t, "the unlimited endpoint to get all 7", func() bool { return fast.count() == 7 })
	waitFor(t, "the first second's 2", func() bool { return rc.count() == 2 })
	for want := 4; want <= 7; want += 2 {
		if rc.count() > want-2 {
			t.Fatalf("%d deliveries before the clock moved, want %d", rc.count(), want-2)
		}
		e.clock.Advance(time.Second)
		want := min(want, 7)
		waitFor(t, "the next second's deliveries", func() bool { return rc.count() == want })
	}
}

func TestEndpointMaxConcurrency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.AttemptTimeout = time.Minute })
	release := make(chan struct{})
	var inFlight, peak atomic.Int32
	rc := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		inFlight.Add(-1)
	})
	e.endpoint(rc.URL, func(p *store.CreateEndpointParams) { p.MaxConcurrency = 2 })
	for range 6 {
		e.publish("order.created", `{}`)
	}
	waitFor(t, "two attempts in flight", func() bool { return inFlight.Load() == 2 })
	e.d.mu.Lock()
	var queued int
	for _, q := range e.d.endpoints {
		queued += q.queued()
	}
	e.d.mu.Unlock()
	if queued != 4 {
		t.Fatalf("%d queued behind the 2 in flight, want 4", queued)
	}
	close(release)
	waitFor(t, "all 6", func() bool { return rc.count() == 6 })
	if p := peak.Load(); p != 2 {
		t.Errorf("peak concurrency %d, want the endpoint's 2", p)
	}
}
