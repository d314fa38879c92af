package dispatch

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// settleGateStore holds the first attempt outcome it writes: once the
// write is done (the lease ended, the retry scheduled) it says so on
// written and waits for proceed before returning, as a slow goroutine
// would between the write and the dispatcher's bookkeeping. It notes when
// a claim returns watch, and says on polled when the poll that made that
// claim is over (the poller asks NextDue once it has taken in what it
// claimed). Claims before watch is set are not watched.
type settleGateStore struct {
	store.Store
	written, proceed chan struct{}
	polled           chan struct{}
	gate, poll       sync.Once
	watch            atomic.Value // string: the delivery id to watch for
	claimed          atomic.Bool
}

func (s *settleGateStore) RecordAttempt(ctx context.Context, p *store.RecordAttemptParams) error {
	err := s.Store.RecordAttempt(ctx, p)
	s.gate.Do(func() {
		close(s.written)
		<-s.proceed
	})
	return err
}

func (s *settleGateStore) ClaimDeliveries(ctx context.Context, p *store.ClaimDeliveriesParams) (*store.ClaimResult, error) {
	res, err := s.Store.ClaimDeliveries(ctx, p)
	if err == nil {
		id, _ := s.watch.Load().(string)
		if slices.ContainsFunc(res.Jobs, func(j *store.Job) bool { return j.DeliveryID == id }) {
			s.claimed.Store(true)
		}
	}
	return res, err
}

func (s *settleGateStore) NextDue(ctx context.Context) (time.Time, bool, error) {
	if s.claimed.Load() {
		s.poll.Do(func() { close(s.polled) })
	}
	return s.Store.NextDue(ctx)
}

// A retry that falls due, and is claimed by this process's poller, after
// its failed attempt's outcome is written but before the dispatcher has let
// the delivery go from memory, is still sent: the claim leased it anew,
// and the dispatcher gives that lease back rather than taking the claim for
// a renewal of the lease its attempt held. Before, the delivery stayed
// leased to a process that would never run it, until the lease ran out or,
// with other work held, for ever; behind it a FIFO endpoint stalled. The
// clock here does not move past the first lease.
func TestRetryClaimedWhileItsOutcomeIsWrittenIsSent(t *testing.T) {
	t.Parallel()
	gated := &settleGateStore{written: make(chan struct{}), proceed: make(chan struct{}), polled: make(chan struct{})}
	e := newEnv(t, func(c *Config) {
		gated.Store = c.Store
		c.Store = gated
		c.Schedule = hook.RetrySchedule{5 * time.Second}
	})
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	e.endpoint(rc.URL, func(p *store.CreateEndpointParams) { p.Ordering = hook.OrderingFIFO })
	first := e.publish("order.created", `{"n":1}`).Deliveries[0].ID
	e.publish("order.created", `{"n":2}`)
	wait := func(what string, ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("timed out waiting for %s", what)
		}
	}
	wait("the first attempt's outcome to be written", gated.written)
	gated.watch.Store(first) // its first claim is over

	// The retry falls due, and the poller claims it while the attempt
	// that failed is not over.
	e.clock.Advance(5 * time.Second)
	e.d.Wake()
	wait("the poller to claim the retry and take it in", gated.polled)
	close(gated.proceed)

	waitFor(t, "the retry and the second delivery", func() bool { return rc.count() == 3 })
	if dl := e.delivery(first); dl.Status != hook.DeliverySucceeded || dl.AttemptCount != 2 {
		t.Errorf("first delivery: %s after %d attempts, want succeeded after 2", dl.Status, dl.AttemptCount)
	}
}
