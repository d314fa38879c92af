package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/webhook"
)

// claimCountingStore counts the jobs claims return (deliveries that were
// not handed over in memory), and the deliveries InsertEvents writes
// claimed.
type claimCountingStore struct {
	store.Store
	claimed      atomic.Int64
	batchClaimed atomic.Int64
}

func (s *claimCountingStore) InsertEvents(ctx context.Context, p *store.InsertEventsParams) ([]*store.InsertEventResult, error) {
	for _, it := range p.Events {
		for _, d := range it.Deliveries {
			if d.Claimed {
				s.batchClaimed.Add(1)
			}
		}
	}
	return s.Store.InsertEvents(ctx, p)
}

func (s *claimCountingStore) ClaimDeliveries(ctx context.Context, p *store.ClaimDeliveriesParams) (*store.ClaimResult, error) {
	res, err := s.Store.ClaimDeliveries(ctx, p)
	if err == nil {
		s.claimed.Add(int64(len(res.Jobs)))
	}
	return res, err
}

// badLastItemStore sends InsertEvents to the real store with the last
// item's app made unknown, so that the real store fails (and rolls back)
// the batch.
type badLastItemStore struct {
	store.Store
}

func (s *badLastItemStore) InsertEvents(ctx context.Context, p *store.InsertEventsParams) ([]*store.InsertEventResult, error) {
	last := p.Events[len(p.Events)-1]
	ev := *last.Event
	ev.AppID = hook.NewID("app")
	last.Event = &ev
	p.Events[len(p.Events)-1] = last
	return s.Store.InsertEvents(ctx, p)
}

func (e *env) newEvent(typ, data string) *hook.Event {
	return &hook.Event{ID: hook.NewID("evt"), AppID: e.app.ID, Type: typ, Data: json.RawMessage(data), CreatedAt: e.clock.Now()}
}

func (e *env) held() (int, int64) {
	e.d.mu.Lock()
	defer e.d.mu.Unlock()
	return e.d.held, e.d.heldBytes
}

func (e *env) waitIdle() {
	e.t.Helper()
	waitFor(e.t, "nothing held in memory", func() bool { n, b := e.held(); return n == 0 && b == 0 })
}

func TestPublishBatchDeliversEachEventFromMemory(t *testing.T) {
	t.Parallel()
	var counting *claimCountingStore
	e := newEnv(t, func(c *Config) {
		counting = &claimCountingStore{Store: c.Store}
		c.Store = counting
	})
	orders, reviews, big := newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil)
	epOrders := e.endpoint(orders.URL, func(p *store.CreateEndpointParams) { p.EventTypes = []string{"order.*"} })
	e.endpoint(reviews.URL, func(p *store.CreateEndpointParams) { p.EventTypes = []string{"review.created"} })
	e.endpoint(big.URL, func(p *store.CreateEndpointParams) { p.Filter = `.data.n > 1` })

	evs := []*hook.Event{
		e.newEvent("order.created", `{"n":1}`),
		e.newEvent("review.created", `{"n":2}`),
		e.newEvent("order.paid", `{"n":3}`),
	}
	res, err := e.d.PublishBatch(context.Background(), e.app, evs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(evs) {
		t.Fatalf("%d results for %d events", len(res), len(evs))
	}
	var ids []string
	for i, want := range []int{1, 2, 2} {
		if !res[i].Created || res[i].Event.ID != evs[i].ID {
			t.Fatalf("result %d: Created %v, event %q; want true, %q", i, res[i].Created, res[i].Event.ID, evs[i].ID)
		}
		if len(res[i].Deliveries) != want {
			t.Errorf("event %d (%s): %d deliveries, want %d", i, evs[i].Type, len(res[i].Deliveries), want)
		}
		for _, d := range res[i].Deliveries {
			ids = append(ids, d.ID)
		}
	}
	for _, id := range ids {
		waitFor(t, "delivery "+id+" to succeed", func() bool { return e.delivery(id).Status == hook.DeliverySucceeded })
	}
	got := func(rc *receiver) []string {
		var out []string
		for i := range rc.count() {
			out = append(out, rc.get(i).header.Get("webhook-id"))
		}
		return out
	}
	for name, c := range map[string]struct {
		rc   *receiver
		want []string
	}{
		"orders":  {orders, []string{evs[0].ID, evs[2].ID}},
		"reviews": {reviews, []string{evs[1].ID}},
		"big":     {big, []string{evs[1].ID, evs[2].ID}},
	} {
		if g := got(c.rc); len(g) != len(c.want) || !sameSet(g, c.want) {
			t.Errorf("%s got events %q, want %q", name, g, c.want)
		}
	}
	v, err := webhook.NewVerifier(epOrders.Secret)
	if err != nil {
		t.Fatal(err)
	}
	v.Now = e.clock.Now
	for i := range orders.count() {
		r := orders.get(i)
		if err := v.Verify(r.header, r.body); err != nil {
			t.Errorf("orders request %d: signature does not verify: %v", i, err)
		}
	}
	e.waitIdle()
	if n := counting.claimed.Load(); n != 0 {
		t.Errorf("%d deliveries were claimed from the store; want all handed over in memory", n)
	}
}

func TestPublishBatchReplayPublishesNothingAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	rc := newReceiver(t, nil)
	e.endpoint(rc.URL, nil)
	first := e.publish("order.created", `{"v":"first"}`)
	waitFor(t, "the first event", func() bool { return e.delivery(first.Deliveries[0].ID).Status == hook.DeliverySucceeded })

	again := e.newEvent("order.updated", `{"v":"again"}`)
	again.ID = first.Event.ID
	fresh := e.newEvent("order.created", `{"v":"fresh"}`)
	res, err := e.d.PublishBatch(context.Background(), e.app, []*hook.Event{again, fresh})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Created || len(res[0].Deliveries) != 0 || string(res[0].Event.Data) != `{"v":"first"}` {
		t.Errorf("replayed item: Created %v, %d deliveries, data %s; want the stored event, nothing new",
			res[0].Created, len(res[0].Deliveries), res[0].Event.Data)
	}
	if !res[1].Created || len(res[1].Deliveries) != 1 {
		t.Fatalf("new item: Created %v, %d deliveries; want true, 1", res[1].Created, len(res[1].Deliveries))
	}
	waitFor(t, "the new event", func() bool { return e.delivery(res[1].Deliveries[0].ID).Status == hook.DeliverySucceeded })
	// The room reserved for the replayed item is given back.
	e.waitIdle()
	if n := rc.count(); n != 2 {
		t.Errorf("the receiver got %d requests, want 2 (the replay sends nothing)", n)
	}
	page, err := e.st.ListDeliveries(context.Background(), &store.ListDeliveriesParams{AppID: e.app.ID, EventID: first.Event.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 1 {
		t.Errorf("the replayed event has %d deliveries, want 1", len(page.Data))
	}
}

func TestPublishBatchFailureStoresNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Store = &badLastItemStore{Store: c.Store} })
	rc := newReceiver(t, nil)
	e.endpoint(rc.URL, nil)
	ctx := context.Background()
	evs := []*hook.Event{e.newEvent("order.created", `{}`), e.newEvent("order.created", `{}`), e.newEvent("order.created", `{}`)}
	_, err := e.d.PublishBatch(ctx, e.app, evs)
	var he *hook.Error
	if hook.ErrorCode(err) != hook.ENotFound || !errors.As(err, &he) || he.Field != "events[2]" {
		t.Fatalf("PublishBatch with a bad last item: %v, want not_found at events[2]", err)
	}
	// Nothing of the batch stays held. A poll running meanwhile holds
	// room for what it may claim until its claim returns, so wait for
	// that rather than look at once.
	waitFor(t, "nothing held in memory after a failed batch", func() bool { n, b := e.held(); return n == 0 && b == 0 })

	other := e.newEvent("order.created", `{}`)
	other.AppID = hook.NewID("app")
	_, err = e.d.PublishBatch(ctx, e.app, []*hook.Event{e.newEvent("order.created", `{}`), other})
	if hook.ErrorCode(err) != hook.EInvalid || !errors.As(err, &he) || he.Field != "events[1].app_id" {
		t.Fatalf("PublishBatch with another app's event: %v, want invalid at events[1].app_id", err)
	}
	page, err := e.st.ListEvents(ctx, &store.ListEventsParams{AppID: e.app.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 0 {
		t.Errorf("%d events stored by failed batches, want none", len(page.Data))
	}
	if n := e.pendingCount(); n != 0 {
		t.Errorf("%d deliveries pending after failed batches, want none", n)
	}
}

func TestPublishBatchKeepsTheEndpointQueueBound(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	rc := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	var counting *claimCountingStore
	e := newEnv(t, func(c *Config) {
		c.EndpointQueue = 3
		c.EndpointConcurrency = 1
		counting = &claimCountingStore{Store: c.Store}
		c.Store = counting
	})
	e.endpoint(rc.URL, nil)
	const n = 10
	evs := make([]*hook.Event, n)
	for i := range evs {
		evs[i] = e.newEvent("order.created", fmt.Sprintf(`{"i":%d}`, i))
	}
	if _, err := e.d.PublishBatch(context.Background(), e.app, evs); err != nil {
		t.Fatal(err)
	}
	if n := counting.batchClaimed.Load(); n != 3 {
		t.Errorf("the batch wrote %d deliveries claimed, want the endpoint's queue bound 3", n)
	}
	close(release)
	waitFor(t, "all events", func() bool { return rc.count() >= n })
	seen := map[string]bool{}
	for i := range rc.count() {
		seen[rc.get(i).header.Get("webhook-id")] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct events arrived, want %d", len(seen), n)
	}
}

func (e *env) pendingCount() int64 {
	e.t.Helper()
	n, err := e.st.CountPendingDeliveries(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}
