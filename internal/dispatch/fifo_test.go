package dispatch

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// TestFIFOEndpointDeliversInOrderOneAtATime checks that a FIFO endpoint
// gets its deliveries one at a time, in order, a failed one holding the
// rest back until its retry succeeds.
func TestFIFOEndpointDeliversInOrderOneAtATime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Schedule = hook.RetrySchedule{5 * time.Second} })
	var inFlight, peak atomic.Int32
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		c := inFlight.Add(1)
		defer inFlight.Add(-1)
		if c > peak.Load() {
			peak.Store(c)
		}
		time.Sleep(time.Millisecond) // let a wrongly parallel second attempt overlap
		if n == 2 {
			w.WriteHeader(http.StatusServiceUnavailable) // the second event fails once
		}
	})
	fifo := e.endpoint(rc.URL, func(p *store.CreateEndpointParams) { p.Ordering = hook.OrderingFIFO })
	parallel := newReceiver(t, nil)
	e.endpoint(parallel.URL, nil)
	var second string
	for i := range 6 {
		for _, d := range e.publish("order.created", `{"n":`+strconv.Itoa(i)+`}`).Deliveries {
			if i == 1 && d.EndpointID == fifo.ID {
				second = d.ID
			}
		}
	}
	waitFor(t, "the unordered endpoint to get all 6", func() bool { return parallel.count() == 6 })
	// The second fails and waits for its retry, holding the rest back.
	waitFor(t, "the second's failure to be recorded", func() bool { return e.delivery(second).AttemptCount == 1 })
	e.d.mu.Lock()
	held := 0
	if q := e.d.endpoints[fifo.ID]; q != nil {
		held = q.queued() + q.inFlight
	}
	e.d.mu.Unlock()
	if rc.count() != 2 || held != 0 {
		t.Fatalf("after the second failed: %d sent, %d held for the endpoint; want 2 and 0", rc.count(), held)
	}
	e.clock.Advance(5 * time.Second)
	waitFor(t, "all 6 and the retry", func() bool { return rc.count() == 7 })

	var got []int
	for i := range rc.count() {
		var b struct {
			Data struct{ N int } `json:"data"`
		}
		_ = json.Unmarshal(rc.get(i).body, &b)
		got = append(got, b.Data.N)
	}
	want := []int{0, 1, 1, 2, 3, 4, 5}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
	if p := peak.Load(); p != 1 {
		t.Errorf("peak concurrency %d to a FIFO endpoint", p)
	}
}
