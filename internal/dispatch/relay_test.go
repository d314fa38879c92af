package dispatch

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/webhook"
)

// fakeRelay stands for internal/listen's Hub: it holds the streams of the
// endpoints in held, and answers each request with answer(n), n counting
// from 1.
type fakeRelay struct {
	mu     sync.Mutex
	held   map[string]bool
	reqs   []*RelayRequest
	answer func(n int) *RelayAnswer
}

func (f *fakeRelay) Attached() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for id, ok := range f.held {
		if ok {
			ids = append(ids, id)
		}
	}
	return ids
}

func (f *fakeRelay) Holds(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.held[id]
}

func (f *fakeRelay) Relay(_ context.Context, r *RelayRequest) (*RelayAnswer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.held[r.EndpointID] {
		return nil, ErrNotAttached
	}
	f.reqs = append(f.reqs, r)
	return f.answer(len(f.reqs)), nil
}

func (f *fakeRelay) set(id string, held bool) {
	f.mu.Lock()
	f.held[id] = held
	f.mu.Unlock()
}

func (f *fakeRelay) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

// TestListenEndpointDeliveriesGoThroughTheRelay: a listen endpoint's
// delivery is handed to the relay, signed as for an HTTP endpoint, and the
// answer is recorded as the attempt: a 500 is a failure retried on the
// schedule (the injected clock), a 200 a success.
func TestListenEndpointDeliveriesGoThroughTheRelay(t *testing.T) {
	t.Parallel()
	relay := &fakeRelay{held: map[string]bool{}, answer: func(n int) *RelayAnswer {
		if n == 1 {
			return &RelayAnswer{Status: 500, Body: []byte("local boom")}
		}
		return &RelayAnswer{Status: 200, Body: []byte("ok")}
	}}
	e := newEnv(t, func(c *Config) { c.Relay = relay })
	ep := e.endpoint("http://localhost:3000/webhooks", func(p *store.CreateEndpointParams) { p.Kind = hook.EndpointKindListen })
	relay.set(ep.ID, true)
	res := e.publish("order.created", `{"n":1}`)
	id := res.Deliveries[0].ID

	waitFor(t, "attempt 1", func() bool { return e.delivery(id).AttemptCount == 1 })
	dl := e.delivery(id)
	if a := dl.Attempts[0]; a.ResponseStatus != 500 || a.ErrorKind != hook.ErrorKindStatus || a.ResponseBody != "local boom" {
		t.Fatalf("attempt 1: %+v", a)
	}
	if dl.Status != hook.DeliveryPending || !dl.NextAttemptAt.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("after attempt 1: %s next %v, want pending at t0+5s", dl.Status, dl.NextAttemptAt)
	}
	r := relay.reqs[0]
	v, err := webhook.NewVerifier(ep.Secret)
	if err != nil {
		t.Fatal(err)
	}
	v.Now = func() time.Time { return t0 }
	if err := v.Verify(r.Header, r.Body); err != nil || r.EventID != res.Event.ID || r.DeliveryID != id || r.Attempt != 1 || r.EventType != "order.created" {
		t.Fatalf("relayed request %+v: verify %v", r, err)
	}
	e.clock.Advance(5 * time.Second)
	waitFor(t, "attempt 2 to succeed", func() bool { return e.delivery(id).Status == hook.DeliverySucceeded })
	if relay.count() != 2 {
		t.Fatalf("%d relayed requests, want 2", relay.count())
	}
}

// TestListenEndpointWithoutStream: a listen endpoint whose stream this
// node does not hold gets nothing here, neither at publish nor by claim;
// once its stream is attached (and the dispatcher woken), it does.
func TestListenEndpointWithoutStream(t *testing.T) {
	t.Parallel()
	relay := &fakeRelay{held: map[string]bool{}, answer: func(int) *RelayAnswer { return &RelayAnswer{Status: 204} }}
	e := newEnv(t, func(c *Config) { c.Relay = relay })
	ep := e.endpoint("hookd-listen:", func(p *store.CreateEndpointParams) { p.Kind = hook.EndpointKindListen })
	res := e.publish("order.created", `{}`)
	id := res.Deliveries[0].ID
	e.d.Wake()
	e.clock.Advance(time.Minute) // polls come and go
	e.d.Wake()
	time.Sleep(50 * time.Millisecond) // a negative check: nothing may be attempted
	if dl := e.delivery(id); dl.AttemptCount != 0 {
		t.Fatalf("a listen endpoint not held here was attempted: %+v", dl.Attempts)
	}
	relay.set(ep.ID, true)
	e.d.Wake()
	waitFor(t, "the delivery through the attached stream", func() bool { return e.delivery(id).Status == hook.DeliverySucceeded })
}
