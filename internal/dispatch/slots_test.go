package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/sqlitestore"
)

// sharedStore is a store shared by several dispatchers in one test, with
// an in-memory store.SlotLeaser that follows the contract: grants exact,
// leases that run out free their slots.
type sharedStore struct {
	store.Store
	mu    sync.Mutex
	slots map[string]map[string]*slotRow // endpoint -> owner -> row
	calls atomic.Int64
}

type slotRow struct {
	slots, want int
	until       time.Time
}

func (s *sharedStore) LeaseSlots(_ context.Context, p *store.LeaseSlotsParams) (map[string]store.SlotGrant, error) {
	s.calls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]store.SlotGrant{}
	for _, r := range p.Requests {
		rows := s.slots[r.EndpointID]
		if rows == nil {
			rows = map[string]*slotRow{}
			s.slots[r.EndpointID] = rows
		}
		others, waiting := 0, 0
		for owner, row := range rows {
			if owner == p.Owner || !row.until.After(p.Now) {
				continue
			}
			others += row.slots
			if row.want > row.slots {
				waiting++
			}
		}
		g := max(0, min(r.Want, r.Limit-others))
		if r.Want == 0 {
			delete(rows, p.Owner)
		} else {
			rows[p.Owner] = &slotRow{slots: g, want: r.Want, until: p.Until}
		}
		out[r.EndpointID] = store.SlotGrant{Granted: g, Waiting: waiting}
	}
	return out, nil
}

// TestEndpointLimitHoldsAcrossDispatchers runs three dispatchers on one
// store, all publishing to one slow endpoint whose limit is 4: the
// receiver never sees more than 4 requests at once, every delivery
// arrives, and every dispatcher sends some (the slots are shared, not
// hoarded by the first).
func TestEndpointLimitHoldsAcrossDispatchers(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "hookd.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	shared := &sharedStore{Store: st, slots: map[string]map[string]*slotRow{}}

	const limit, perNode, nodes = 4, 60, 3
	var cur, peak atomic.Int64
	var mu sync.Mutex
	byUA := map[string]int{}
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		byUA[r.Header.Get("User-Agent")]++
		mu.Unlock()
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		cur.Add(-1)
		w.WriteHeader(http.StatusNoContent)
	})

	now := time.Now()
	app, err := st.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "Shop", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateEndpoint(ctx, &store.CreateEndpointParams{ID: hook.NewID("ep"), AppID: app.ID,
		URL: rc.URL, Secret: hook.NewSecret(), Now: now}); err != nil {
		t.Fatal(err)
	}

	var ds []*Dispatcher
	for i := range nodes {
		d, err := New(Config{
			Store: shared, AllowPrivateNetworks: true, UserAgent: fmt.Sprintf("node-%d", i),
			EndpointConcurrency: limit, SlotTick: 5 * time.Millisecond, SlotIdle: 20 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Stop(context.Background()) })
		ds = append(ds, d)
	}

	var wg sync.WaitGroup
	for _, d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perNode {
				if _, err := d.Publish(ctx, app, &hook.Event{ID: hook.NewID("evt"), AppID: app.ID, Type: "order.created",
					Data: json.RawMessage(`{}`), CreatedAt: time.Now()}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	waitFor(t, "every delivery", func() bool { return rc.count() == nodes*perNode })

	if p := peak.Load(); p > limit {
		t.Errorf("the receiver saw %d requests at once; the endpoint's limit across dispatchers is %d", p, limit)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range nodes {
		if byUA[fmt.Sprintf("node-%d", i)] == 0 {
			t.Errorf("node-%d sent nothing: slots were not shared (%v)", i, byUA)
		}
	}
	t.Logf("peak %d of limit %d; sent per node %v; %d slot calls", peak.Load(), limit, byUA, shared.calls.Load())
}
