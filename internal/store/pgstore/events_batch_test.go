package pgstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// TestInsertEventsInOneStatement checks that a clean batch is stored by
// the one-statement path, and that a batch with a bad item falls back to
// item-by-item statements that name it, leaving nothing behind (the
// conformance suite checks the outcomes; this checks which path ran).
func TestInsertEventsInOneStatement(t *testing.T) {
	s := openDSN(t, newSchema(t))
	appID, eps := fixture(t, s, 2)
	ctx := context.Background()
	batch := func(n int, badAt int) *store.InsertEventsParams {
		p := &store.InsertEventsParams{}
		for i := range n {
			ep := eps[i%2]
			if i == badAt {
				ep = hook.NewID("ep") // no such endpoint
			}
			p.Events = append(p.Events, store.InsertEventParams{
				Event:      &hook.Event{ID: hook.NewID("evt"), AppID: appID, Type: "a.b", Data: []byte(`{"i":1}`), CreatedAt: time.Now()},
				Deliveries: []store.NewDelivery{{ID: hook.NewID("dlv"), EndpointID: ep, Claimed: i%2 == 0}},
				Owner:      "n", LeaseUntil: time.Now().Add(time.Minute),
			})
		}
		return p
	}
	res, err := s.InsertEvents(ctx, batch(50, -1))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 50 || !res[49].Created || len(res[49].Deliveries) != 1 {
		t.Fatalf("clean batch: %d results, last %+v", len(res), res[len(res)-1])
	}
	if n := s.nBulk.Load(); n != 1 {
		t.Fatalf("clean batch: %d batches stored in one statement, want 1", n)
	}

	_, err = s.InsertEvents(ctx, batch(50, 30))
	var he *hook.Error
	if !errors.As(err, &he) || he.Code != hook.ENotFound || he.Field != "events[30]" {
		t.Fatalf("batch with a bad item 30: got %v, want not found at events[30]", err)
	}
	if n := s.nBulk.Load(); n != 1 {
		t.Fatalf("bad batch: %d batches stored in one statement, want still 1", n)
	}
	page, err := s.ListEvents(ctx, &store.ListEventsParams{AppID: appID, ListParams: store.ListParams{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 50 {
		t.Fatalf("%d events stored, want the clean batch's 50 only", len(page.Data))
	}
}
