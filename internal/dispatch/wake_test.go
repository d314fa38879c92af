package dispatch

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// gatedStore holds one poll between its look at the store and its sleep:
// once armed, the next NextDue reads the store and then waits for release
// before it answers, so the poll goes on with what it read however the
// store changes meanwhile, as a poll does whose answer is on its way while
// an attempt records a retry.
type gatedStore struct {
	store.Store
	armed   atomic.Bool
	entered chan struct{} // closed once the gated NextDue has read the store
	release chan struct{} // closed by the test to let it answer
}

func newGatedStore(st store.Store) *gatedStore {
	return &gatedStore{Store: st, entered: make(chan struct{}), release: make(chan struct{})}
}

func (s *gatedStore) NextDue(ctx context.Context) (time.Time, bool, error) {
	t, ok, err := s.Store.NextDue(ctx)
	if s.armed.CompareAndSwap(true, false) {
		close(s.entered)
		select {
		case <-s.release:
		case <-ctx.Done():
		}
	}
	return t, ok, err
}

// nextWake is when the poller means to poll next.
func (e *env) nextWake() time.Time {
	e.d.mu.Lock()
	defer e.d.mu.Unlock()
	return e.d.nextWake
}

// TestRetryNotedDuringAPollIsNotLost drives, step by step, a retry that
// falls due while the poller is polling: the poll has read the store
// before the retry was recorded, and the attempt tells the poller of the
// retry's due time (noteDue) before the poll is over. The poller must
// wake at that time, not a whole PollInterval later: the fake clock is
// moved only to the retry's due time. Both ways a poll starts are
// covered: woken early (its planned time still ahead, later than the
// retry) and woken by its timer (its planned time reached, earlier than
// the retry).
func TestRetryNotedDuringAPollIsNotLost(t *testing.T) {
	t.Parallel()
	const pollInterval = time.Minute
	const retryIn = 5 * time.Second
	tests := []struct {
		name      string
		startPoll func(e *env) // starts the poll the gate holds
	}{
		{"poll woken early", func(e *env) { e.d.Wake() }},
		{"poll woken by its timer", func(e *env) { e.clock.Advance(pollInterval) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var gate *gatedStore
			e := newEnv(t, func(c *Config) {
				gate = newGatedStore(c.Store)
				c.Store = gate
				c.PollInterval = pollInterval
				c.Schedule = hook.RetrySchedule{retryIn}
			})
			rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
				if n == 1 {
					w.WriteHeader(http.StatusInternalServerError)
				}
			})
			e.endpoint(rc.URL, nil)
			// The poll at Start found nothing: the poller sleeps until
			// t0+PollInterval.
			waitFor(t, "the first poll to end", func() bool { return e.nextWake().Equal(t0.Add(pollInterval)) })

			gate.armed.Store(true)
			tt.startPoll(e)
			select {
			case <-gate.entered:
			case <-time.After(10 * time.Second):
				t.Fatal("timed out waiting for the poll to read the store")
			}
			pollAt := e.clock.Now()

			// While the poll is held, a delivery's first attempt fails and
			// its retry is scheduled retryIn from now.
			id := e.publish("order.created", `{}`).Deliveries[0].ID
			waitFor(t, "attempt 1", func() bool { return e.delivery(id).AttemptCount == 1 })
			if next := e.delivery(id).NextAttemptAt; next == nil || !next.Equal(pollAt.Add(retryIn)) {
				t.Fatalf("retry at %v, want %v", next, pollAt.Add(retryIn))
			}
			// The attempt is over: it has told the poller of its retry.
			// Nothing else runs, so waiting on the group is safe here.
			e.d.attempts.Wait()

			close(gate.release)
			e.clock.Advance(retryIn)
			waitFor(t, "the retry at its due time (the poller, told of it during a poll, slept past it)", func() bool {
				return e.delivery(id).AttemptCount == 2
			})
			if s := e.delivery(id).Status; s != hook.DeliverySucceeded {
				t.Errorf("after the retry the delivery is %s, want succeeded", s)
			}
		})
	}
}

// TestPollBackOffCountsFromItsClaim drives a poll during which the clock
// moves: a FIFO endpoint's first delivery waits for its retry, the one
// behind it is due but cannot be taken, so the poller, its few immediate
// polls spent, looks again a second later. That second counts from the
// poll's look at the store: a poll that looked at t and ends after the
// clock moved to the retry's due time polls again at once, and the retry
// goes out without the clock moving further.
func TestPollBackOffCountsFromItsClaim(t *testing.T) {
	t.Parallel()
	const retryIn = 5 * time.Second
	var gate *gatedStore
	e := newEnv(t, func(c *Config) {
		gate = newGatedStore(c.Store)
		c.Store = gate
		c.Schedule = hook.RetrySchedule{retryIn}
	})
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	e.endpoint(rc.URL, func(p *store.CreateEndpointParams) { p.Ordering = hook.OrderingFIFO })
	first := e.publish("order.created", `{"n":1}`).Deliveries[0].ID
	e.publish("order.created", `{"n":2}`)
	waitFor(t, "the first attempt", func() bool { return e.delivery(first).AttemptCount == 1 })
	// Its immediate polls spent on the second delivery, due but held
	// back, the poller looks again a second later.
	waitFor(t, "the poller to back off", func() bool { return e.nextWake().Equal(t0.Add(time.Second)) })

	gate.armed.Store(true)
	e.d.Wake()
	select {
	case <-gate.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for the poll to read the store")
	}
	// The poll looked at t0; the clock moves to the retry's due time
	// before it ends.
	e.clock.Advance(retryIn)
	close(gate.release)
	waitFor(t, "the retry at its due time (the poll's back-off counted from its end)", func() bool {
		return e.delivery(first).AttemptCount == 2
	})
	waitFor(t, "the delivery behind it", func() bool { return rc.count() == 3 })
}
