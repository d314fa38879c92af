package sqlitestore

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// leaseFixture is an app with one endpoint on a store.
type leaseFixture struct {
	s     *Store
	ctx   context.Context
	appID string
	epID  string
	now   time.Time
}

func newLeaseFixture(t *testing.T, s *Store) *leaseFixture {
	t.Helper()
	ctx := context.Background()
	now := time.UnixMilli(1_800_000_000_000).UTC()
	app, err := s.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "leases", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := s.CreateEndpoint(ctx, &store.CreateEndpointParams{ID: hook.NewID("ep"), AppID: app.ID,
		URL: "https://example.com", Secret: hook.NewSecret(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return &leaseFixture{s: s, ctx: ctx, appID: app.ID, epID: ep.ID, now: now}
}

// publish inserts an event whose one delivery is claimed by owner (the
// publish fast path) until leaseUntil, or unclaimed if owner is "".
func (f *leaseFixture) publish(t *testing.T, owner string, leaseUntil time.Time) string {
	t.Helper()
	id := hook.NewID("dlv")
	_, err := f.s.InsertEvent(f.ctx, &store.InsertEventParams{
		Event:      &hook.Event{ID: hook.NewID("evt"), AppID: f.appID, Type: "a.b", Data: []byte(`{}`), CreatedAt: f.now},
		Deliveries: []store.NewDelivery{{ID: id, EndpointID: f.epID, Claimed: owner != ""}},
		Owner:      owner, LeaseUntil: leaseUntil,
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// claimable returns the ids a claim by "probe" at at gets, and releases
// them again.
func (f *leaseFixture) claimable(t *testing.T, at time.Time) []string {
	t.Helper()
	c, err := f.s.ClaimDeliveries(f.ctx, &store.ClaimDeliveriesParams{Owner: "probe", Now: at, LeaseUntil: at.Add(time.Second), Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range c.Jobs {
		ids = append(ids, j.DeliveryID)
	}
	if err := f.s.ReleaseDeliveries(f.ctx, &store.ReleaseDeliveriesParams{Owner: "probe", IDs: ids, Now: f.now}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

// remembered is the store's lease set of owner, sorted. Read after the
// writes returned, which the writer goroutine finished before reporting.
func (f *leaseFixture) remembered(owner string) []string {
	ids, _ := f.s.leases.IDs(owner)
	slices.Sort(ids)
	return ids
}

// TestLeasesWithoutIndex: with no index on lease_owner (migration 00018),
// RenewLeases and ReleaseDeliveries without ids reach the leases taken by
// ClaimDeliveries and by InsertEvent(s)' claimed deliveries, and the store
// forgets the leases that ended.
func TestLeasesWithoutIndex(t *testing.T) {
	s := openTemp(t)
	f := newLeaseFixture(t, s)
	minute := f.now.Add(time.Minute)

	fast := f.publish(t, "A", minute) // leased at insert
	_, err := s.InsertEvents(f.ctx, &store.InsertEventsParams{Events: []store.InsertEventParams{{
		Event:      &hook.Event{ID: hook.NewID("evt"), AppID: f.appID, Type: "a.b", Data: []byte(`{}`), CreatedAt: f.now},
		Deliveries: []store.NewDelivery{{ID: "dlv_batch", EndpointID: f.epID, Claimed: true}},
		Owner:      "A", LeaseUntil: minute,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	queued := f.publish(t, "", time.Time{})
	c, err := s.ClaimDeliveries(f.ctx, &store.ClaimDeliveriesParams{Owner: "A", Now: f.now, LeaseUntil: minute, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Jobs) != 1 || c.Jobs[0].DeliveryID != queued {
		t.Fatalf("claimed %d jobs, want only %s", len(c.Jobs), queued)
	}
	all := []string{fast, "dlv_batch", queued}
	slices.Sort(all)
	if got := f.remembered("A"); !slices.Equal(got, all) {
		t.Fatalf("A's leases remembered: %v, want %v", got, all)
	}

	// Renewed, all three hold past their first expiry.
	tenMinutes := f.now.Add(10 * time.Minute)
	if err := s.RenewLeases(f.ctx, &store.RenewLeasesParams{Owner: "A", Until: tenMinutes}); err != nil {
		t.Fatal(err)
	}
	if got := f.claimable(t, tenMinutes.Add(-time.Millisecond)); len(got) != 0 {
		t.Fatalf("claimable before the renewed leases end (they were due at %v): %v", minute, got)
	}

	// An attempt ends its lease; a release without ids ends the rest.
	err = s.RecordAttempt(f.ctx, &store.RecordAttemptParams{Owner: "A", Now: f.now,
		Attempt: &hook.Attempt{ID: hook.NewID("att"), DeliveryID: fast, Number: 1, Trigger: "scheduled",
			StartedAt: f.now, ResponseStatus: 200},
		Decision: hook.Decision{Status: hook.DeliverySucceeded}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.remembered("A"), []string{"dlv_batch", queued}; !slices.Equal(got, sortedCopy(want)) {
		t.Fatalf("A's leases after an attempt: %v, want %v", got, sortedCopy(want))
	}
	later := tenMinutes.Add(time.Minute)
	if err := s.ReleaseDeliveries(f.ctx, &store.ReleaseDeliveriesParams{Owner: "A", Now: f.now}); err != nil {
		t.Fatal(err)
	}
	if got := f.remembered("A"); len(got) != 0 {
		t.Fatalf("A's leases after releasing all: %v", got)
	}
	if got, want := f.claimable(t, f.now), sortedCopy([]string{"dlv_batch", queued}); !slices.Equal(got, want) {
		t.Fatalf("claimable after A released all: %v, want %v", got, want)
	}
	// The probe's claims are forgotten once released.
	if got := f.remembered("probe"); len(got) != 0 {
		t.Fatalf("probe's leases remembered after its release: %v", got)
	}

	// A lease that ran out and went to another owner is dropped at the
	// next renewal, and that renewal does not take it back.
	d := f.publish(t, "A", minute)
	c, err = s.ClaimDeliveries(f.ctx, &store.ClaimDeliveriesParams{Owner: "B", Now: minute, LeaseUntil: later, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Jobs) != 3 {
		t.Fatalf("B claimed %d, want 3", len(c.Jobs))
	}
	if err := s.RenewLeases(f.ctx, &store.RenewLeasesParams{Owner: "A", Until: later.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if got := f.remembered("A"); len(got) != 0 {
		t.Fatalf("A's leases after B took %s: %v", d, got)
	}
	if got, want := f.claimable(t, later), sortedCopy([]string{d, "dlv_batch", queued}); !slices.Equal(got, want) {
		t.Fatalf("claimable when B's leases end: %v, want %v (A's renewal must not extend B's)", got, want)
	}
}

// TestLeasesOfAnEarlierProcess: a store does not renew leases it did not
// grant (an earlier process's, under the same owner name); ReleaseAllLeases
// takes them back.
func TestLeasesOfAnEarlierProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	s, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newLeaseFixture(t, s)
	minute := f.now.Add(time.Minute)
	d := f.publish(t, "A", minute)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f.s = s
	if err := s.RenewLeases(ctx, &store.RenewLeasesParams{Owner: "A", Until: f.now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if got := f.claimable(t, minute); !slices.Equal(got, []string{d}) {
		t.Fatalf("claimable when the earlier process's lease ends: %v, want [%s]", got, d)
	}
	if _, err := s.ClaimDeliveries(ctx, &store.ClaimDeliveriesParams{Owner: "A", Now: minute, LeaseUntil: f.now.Add(time.Hour), Limit: 10}); err != nil {
		t.Fatal(err)
	}
	n, err := s.ReleaseAllLeases(ctx)
	if err != nil || n != 1 {
		t.Fatalf("ReleaseAllLeases: %d, %v; want 1", n, err)
	}
	if n := s.leases.Owners(); n != 0 {
		t.Fatalf("leases of %d owners remembered after ReleaseAllLeases", n)
	}
	if got := f.claimable(t, f.now); !slices.Equal(got, []string{d}) {
		t.Fatalf("claimable after ReleaseAllLeases: %v, want [%s]", got, d)
	}
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
