package storetest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// testInsertEvents checks InsertEvents: a batch is stored whole, replays
// per item, or not at all.
func testInsertEvents(t *testing.T, open Opener) {
	t.Run("AllStored", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		a, b := h.endpoint(app.ID), h.endpoint(app.ID)
		lease := h.at(time.Minute)
		items := []ev{
			{id: "b-0", typ: "order.created", data: `{"n":0}`, endpoints: []string{a.ID}, claimed: true, owner: "node-1", lease: lease},
			{id: "b-1", typ: "order.paid", data: `{"n":1}`, at: h.at(time.Second), endpoints: []string{a.ID, b.ID}},
			{id: "b-2", typ: "order.shipped", data: `{"n":2}`},
		}
		res := h.insertBatch(app.ID, items...)
		eq(t, len(res), 3, "results")
		for i, it := range items {
			r := res[i]
			what := fmt.Sprintf("item %d", i)
			eq(t, r.Created, true, what+" Created")
			eq(t, r.Event.ID, it.id, what+" ID")
			eq(t, r.Event.AppID, app.ID, what+" AppID")
			eq(t, r.Event.Type, it.typ, what+" Type")
			wantJSON(t, r.Event.Data, it.data, what+" Data")
			eq(t, len(r.Deliveries), len(it.endpoints), what+" deliveries")
			stored, err := h.s.GetEvent(h.ctx, app.ID, it.id)
			must(t, err, what+" GetEvent")
			eq(t, stored.Type, it.typ, what+" stored Type")
			wantJSON(t, stored.Data, it.data, what+" stored Data")
			for j, d := range r.Deliveries {
				eq(t, d.EndpointID, it.endpoints[j], fmt.Sprintf("%s delivery %d endpoint", what, j))
				dd := h.delivery(app.ID, d.ID)
				eq(t, dd.EventID, it.id, what+" stored delivery EventID")
				eq(t, dd.EventType, it.typ, what+" stored delivery EventType")
				eq(t, dd.Status, hook.DeliveryPending, what+" stored delivery Status")
			}
		}
		wantTime(t, res[1].Event.CreatedAt, h.at(time.Second), "item 1 CreatedAt")
		eq(t, h.pending(), 3, "pending")

		// The claimed delivery is leased to node-1: only the two unclaimed
		// ones are claimable before the lease runs out, all three after.
		got := h.claim("node-2", h.at(2*time.Second), 10, 10)
		deepEq(t, sorted(jobIDs(got)), sorted([]string{res[1].Deliveries[0].ID, res[1].Deliveries[1].ID}), "claimable before the lease ends")
		got = h.claim("node-2", lease.Add(time.Second), 10, 10)
		deepEq(t, jobIDs(got), []string{res[0].Deliveries[0].ID}, "claimable once the lease ended")

		empty, err := h.s.InsertEvents(h.ctx, &store.InsertEventsParams{})
		must(t, err, "InsertEvents with no events")
		eq(t, len(empty), 0, "results of an empty batch")
	})

	t.Run("Replay", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		a, b := h.endpoint(app.ID), h.endpoint(app.ID)
		old := h.insert(app.ID, ev{id: "old", typ: "order.created", data: `{"v":"old"}`, endpoints: []string{a.ID}})
		res := h.insertBatch(app.ID,
			ev{id: "new-1", endpoints: []string{a.ID}},
			ev{id: "old", typ: "order.updated", data: `{"v":"again"}`, at: h.at(time.Hour), endpoints: []string{a.ID, b.ID}},
			ev{id: "new-2", endpoints: []string{b.ID}},
			// An id an earlier item of the batch has: a replay of it.
			ev{id: "new-1", typ: "order.paid", data: `{"v":"dup"}`, endpoints: []string{b.ID}},
		)
		eq(t, len(res), 4, "results")
		eq(t, res[0].Created, true, "new-1 Created")
		eq(t, res[2].Created, true, "new-2 Created")
		eq(t, len(res[0].Deliveries), 1, "new-1 deliveries")
		eq(t, len(res[2].Deliveries), 1, "new-2 deliveries")

		eq(t, res[1].Created, false, "old Created")
		eq(t, len(res[1].Deliveries), 0, "old deliveries")
		eq(t, res[1].Event.ID, "old", "old ID")
		eq(t, res[1].Event.Type, "order.created", "the replay returns the stored type")
		wantJSON(t, res[1].Event.Data, `{"v":"old"}`, "the replay returns the stored data")
		wantTime(t, res[1].Event.CreatedAt, old.Event.CreatedAt, "the replay returns the stored time")

		eq(t, res[3].Created, false, "repeated new-1 Created")
		eq(t, len(res[3].Deliveries), 0, "repeated new-1 deliveries")
		eq(t, res[3].Event.Type, "order.created", "repeated new-1 returns the batch's first")
		wantJSON(t, res[3].Event.Data, `{"n":0}`, "repeated new-1 data")

		evs, err := h.s.ListEvents(h.ctx, &store.ListEventsParams{AppID: app.ID})
		must(t, err, "ListEvents")
		eq(t, len(evs.Data), 3, "events")
		page, err := h.s.ListDeliveries(h.ctx, &store.ListDeliveriesParams{AppID: app.ID, EventID: "old"})
		must(t, err, "ListDeliveries")
		eq(t, len(page.Data), 1, "deliveries of the replayed event")
		eq(t, h.pending(), 3, "pending")

		// A batch of replays only writes nothing.
		again := h.insertBatch(app.ID, ev{id: "new-2", endpoints: []string{a.ID}}, ev{id: "old"})
		eq(t, again[0].Created || again[1].Created, false, "Created in a batch of replays")
		eq(t, h.pending(), 3, "pending after a batch of replays")
	})

	t.Run("Rollback", func(t *testing.T) {
		h := setup(t, open)
		app, other := h.app(""), h.app("")
		ep, oep := h.endpoint(app.ID), h.endpoint(other.ID)
		taken := h.insert(app.ID, ev{id: "taken", endpoints: []string{ep.ID}}).Deliveries[0].ID
		good := func(id string) ev { return ev{id: id, endpoints: []string{ep.ID}} }
		checkNothing := func(what string, ids ...string) {
			t.Helper()
			for _, id := range ids {
				_, err := h.s.GetEvent(h.ctx, app.ID, id)
				wantErr(t, err, hook.ENotFound, "-", what+": event "+id)
			}
			eq(t, h.pending(), 1, what+": pending")
			evs, err := h.s.ListEvents(h.ctx, &store.ListEventsParams{AppID: app.ID})
			must(t, err, "ListEvents")
			eq(t, len(evs.Data), 1, what+": events")
		}

		_, err := h.insertBatchErr(app.ID, good("r-0"), good("r-1"), ev{id: "r-2", endpoints: []string{ep.ID, hook.NewID("ep")}})
		wantErr(t, err, hook.ENotFound, "events[2]", "an unknown endpoint in item 2")
		checkNothing("unknown endpoint", "r-0", "r-1", "r-2")

		_, err = h.insertBatchErr(app.ID, good("r-0"), ev{id: "r-1", endpoints: []string{oep.ID}})
		wantErr(t, err, hook.ENotFound, "events[1]", "another app's endpoint in item 1")
		checkNothing("another app's endpoint", "r-0", "r-1")

		p := h.batchParams(app.ID, good("r-0"), good("r-1"), good("r-2"))
		p.Events[2].Event.AppID = hook.NewID("app")
		_, err = h.s.InsertEvents(h.ctx, p)
		wantErr(t, err, hook.ENotFound, "events[2]", "an unknown app in item 2")
		checkNothing("unknown app", "r-0", "r-1", "r-2")

		p = h.batchParams(app.ID, good("r-0"), good("r-1"), good("r-2"))
		p.Events[2].Deliveries[0].ID = taken
		_, err = h.s.InsertEvents(h.ctx, p)
		wantErr(t, err, hook.EConflict, "events[2].deliveries[0].id", "a delivery id that exists, in item 2")
		checkNothing("existing delivery id", "r-0", "r-1", "r-2")

		p = h.batchParams(app.ID, good("r-0"), good("r-1"))
		p.Events[1].Deliveries[0].ID = p.Events[0].Deliveries[0].ID
		_, err = h.s.InsertEvents(h.ctx, p)
		wantErr(t, err, hook.EConflict, "events[1].deliveries[0].id", "item 0's delivery id again in item 1")
		checkNothing("delivery id repeated in the batch", "r-0", "r-1")

		p = h.batchParams(app.ID, good("r-0"))
		p.Events = append(p.Events, store.InsertEventParams{})
		_, err = h.s.InsertEvents(h.ctx, p)
		wantErr(t, err, hook.EInvalid, "events[1].event", "an item without an event")
		checkNothing("item without an event", "r-0")

		// Failed batches leave the ids free.
		res := h.insertBatch(app.ID, good("r-0"), good("r-1"), good("r-2"))
		for i, r := range res {
			eq(t, r.Created, true, fmt.Sprintf("item %d Created after the failed batches", i))
		}
		eq(t, h.pending(), 4, "pending after the good batch")
	})

	t.Run("FailureSparesConcurrentWrites", func(t *testing.T) {
		// Writes running alongside a failing batch (perhaps in the same
		// group transaction) commit; the batch leaves nothing.
		h := setup(t, open)
		app := h.app("")
		ep := h.endpoint(app.ID)
		const n = 16
		var (
			wg    sync.WaitGroup
			errs  = make([]error, n)
			start = make(chan struct{})
		)
		for i := range n {
			wg.Go(func() {
				<-start
				if i%2 == 0 {
					_, errs[i] = h.insertErr(app.ID, ev{id: fmt.Sprintf("single-%d", i), endpoints: []string{ep.ID}})
					return
				}
				_, errs[i] = h.insertBatchErr(app.ID,
					ev{id: fmt.Sprintf("bad-%d-0", i), endpoints: []string{ep.ID}},
					ev{id: fmt.Sprintf("bad-%d-1", i), endpoints: []string{hook.NewID("ep")}})
			})
		}
		close(start)
		wg.Wait()
		for i := range n {
			if i%2 == 0 {
				must(t, errs[i], fmt.Sprintf("InsertEvent %d beside failing batches", i))
				continue
			}
			wantErr(t, errs[i], hook.ENotFound, "events[1]", fmt.Sprintf("failing batch %d", i))
			_, err := h.s.GetEvent(h.ctx, app.ID, fmt.Sprintf("bad-%d-0", i))
			wantErr(t, err, hook.ENotFound, "-", fmt.Sprintf("item 0 of failing batch %d", i))
		}
		eq(t, h.pending(), n/2, "pending")
	})

	t.Run("Thousand", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		a, b := h.endpoint(app.ID), h.endpoint(app.ID)
		const n = 1000
		items := make([]ev, n)
		for i := range items {
			items[i] = ev{id: fmt.Sprintf("k-%04d", i), data: fmt.Sprintf(`{"i":%d}`, i), endpoints: []string{a.ID, b.ID},
				claimed: i%2 == 0, owner: "node-1", lease: h.at(time.Minute)}
		}
		res := h.insertBatch(app.ID, items...)
		eq(t, len(res), n, "results")
		for i, r := range res {
			if !r.Created || r.Event.ID != items[i].id || len(r.Deliveries) != 2 {
				t.Fatalf("item %d: Created %v, ID %q, %d deliveries; want true, %q, 2", i, r.Created, r.Event.ID, len(r.Deliveries), items[i].id)
			}
		}
		eq(t, h.pending(), 2*n, "pending")
		last, err := h.s.GetEvent(h.ctx, app.ID, items[n-1].id)
		must(t, err, "GetEvent of the last item")
		wantJSON(t, last.Data, items[n-1].data, "last item's data")
		got := h.claim("node-2", h.now, 2*n, 2*n)
		eq(t, len(got.Jobs), n, "unclaimed deliveries claimable")
	})
}

// batchParams is the InsertEvents of items (see insertErr for the
// defaults).
func (h *h) batchParams(appID string, items ...ev) *store.InsertEventsParams {
	p := &store.InsertEventsParams{Events: make([]store.InsertEventParams, len(items))}
	for i, e := range items {
		if e.id == "" {
			e.id = hook.NewID("evt")
		}
		if e.typ == "" {
			e.typ = "order.created"
		}
		if e.data == "" {
			e.data = fmt.Sprintf(`{"n":%d}`, i)
		}
		if e.at.IsZero() {
			e.at = h.now
		}
		ip := store.InsertEventParams{
			Event: &hook.Event{ID: e.id, AppID: appID, Type: e.typ, Data: json.RawMessage(e.data), CreatedAt: e.at},
			Owner: e.owner, LeaseUntil: e.lease,
		}
		for _, ep := range e.endpoints {
			ip.Deliveries = append(ip.Deliveries, store.NewDelivery{ID: hook.NewID("dlv"), EndpointID: ep, Claimed: e.claimed})
		}
		p.Events[i] = ip
	}
	return p
}

func (h *h) insertBatchErr(appID string, items ...ev) ([]*store.InsertEventResult, error) {
	return h.s.InsertEvents(h.ctx, h.batchParams(appID, items...))
}

func (h *h) insertBatch(appID string, items ...ev) []*store.InsertEventResult {
	h.t.Helper()
	res, err := h.insertBatchErr(appID, items...)
	must(h.t, err, "InsertEvents")
	if len(res) != len(items) {
		h.t.Fatalf("InsertEvents: %d results for %d events", len(res), len(items))
	}
	return res
}
