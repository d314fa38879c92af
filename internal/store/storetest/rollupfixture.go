package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// RollupFixture creates an app, an endpoint and n deliveries to it,
// created at at and leased to "w", for a backend's own rollup tests.
func RollupFixture(t *testing.T, s store.Store, n int, at time.Time) (appID, epID string, ids []string) {
	t.Helper()
	ctx := context.Background()
	app, err := s.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "a", Now: at})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := s.CreateEndpoint(ctx, &store.CreateEndpointParams{ID: hook.NewID("ep"), AppID: app.ID,
		URL: "https://example.com", Secret: hook.NewSecret(), Now: at})
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		res, err := s.InsertEvent(ctx, &store.InsertEventParams{
			Event:      &hook.Event{ID: hook.NewID("evt"), AppID: app.ID, Type: "a.b", Data: []byte(`{}`), CreatedAt: at},
			Deliveries: []store.NewDelivery{{ID: hook.NewID("dlv"), EndpointID: ep.ID, Claimed: true}},
			Owner:      "w", LeaseUntil: at.Add(time.Hour),
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Deliveries[0].ID)
	}
	return app.ID, ep.ID, ids
}

// RecordSuccess records a first-try success of delivery id (leased to
// "w", as RollupFixture leases them) started at at, as attempt attID (""
// for a new id).
func RecordSuccess(ctx context.Context, s store.Store, id, attID string, at time.Time) error {
	if attID == "" {
		attID = hook.NewID("att")
	}
	return s.RecordAttempt(ctx, &store.RecordAttemptParams{Owner: "w", Attempt: &hook.Attempt{
		ID: attID, DeliveryID: id, Number: 1, Trigger: hook.TriggerScheduled, StartedAt: at,
		Duration: time.Millisecond, ResponseStatus: 200}, ScheduledAttempts: 1,
		Decision: hook.Decision{Status: hook.DeliverySucceeded}, Now: at})
}

// SucceededAround reads, through Stats, the endpoint's succeeded
// deliveries of the hours around at.
func SucceededAround(t *testing.T, s store.Store, appID, epID string, at time.Time) int64 {
	t.Helper()
	from := at.Truncate(time.Hour).Add(-time.Hour)
	st, err := s.Stats(context.Background(), &store.StatsParams{AppID: appID, EndpointID: epID,
		Since: from, Until: from.Add(3 * time.Hour), Bucket: time.Hour, Now: at})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, b := range st.Buckets {
		n += b.Succeeded
	}
	return n
}
