package retention

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/sqlitestore"
)

func TestSweepPurgesWhatIsOlderThanMaxAge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "hookd.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	app, err := st.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "A", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := st.CreateEndpoint(ctx, &store.CreateEndpointParams{ID: hook.NewID("ep"), AppID: app.ID, URL: "https://example.com", Secret: hook.NewSecret(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	insert := func(id string, age time.Duration, deliveries bool) {
		p := &store.InsertEventParams{Event: &hook.Event{ID: id, AppID: app.ID, Type: "a.b", Data: json.RawMessage(`{}`), CreatedAt: now.Add(-age)}}
		if deliveries {
			p.Deliveries = []store.NewDelivery{{ID: hook.NewID("dlv"), EndpointID: ep.ID}}
		}
		if _, err := st.InsertEvent(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 25 {
		insert(hook.NewID("old"), 40*24*time.Hour-time.Duration(i)*time.Minute, false)
	}
	insert("old-but-pending", 35*24*time.Hour, true)
	insert("young", 29*24*time.Hour, false)

	p, err := New(Config{Store: st, MaxAge: 30 * 24 * time.Hour, Batch: 4, Pause: time.Millisecond, Clock: clockwork.NewFakeClockAt(now)})
	if err != nil {
		t.Fatal(err)
	}
	n, err := p.Sweep(ctx)
	if err != nil || n != 25 {
		t.Fatalf("Sweep = %d, %v; want the 25 old events", n, err)
	}
	page, err := st.ListEvents(ctx, &store.ListEventsParams{AppID: app.ID})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range page.Data {
		left = append(left, e.ID)
	}
	if len(left) != 2 || left[0] != "young" || left[1] != "old-but-pending" {
		t.Fatalf("left %v; want young and old-but-pending", left)
	}
	if n, err := p.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("second Sweep = %d, %v", n, err)
	}
}
