package pgstore

import (
	"context"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/store"
)

// TestFanoutCacheAcrossNodes checks that a node's cached fan-out list is
// dropped when another node changes an endpoint: the change is signalled
// on hookd_endpoints and B's ListenDue connection hears it. B's cache has
// no TTL here, so only the signal can make B see the change.
func TestFanoutCacheAcrossNodes(t *testing.T) {
	dsn := newDatabase(t)
	a, b := openDSN(t, dsn), openDSN(t, dsn)
	b.fanout = store.NewFanoutCache(0, 10)
	appID, eps := fixture(t, a, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- b.ListenDue(ctx, "B", func() {}) }()
	for i := 0; b.listenPID.Load() == 0; i++ {
		if i > 3000 {
			t.Fatal("ListenDue does not listen")
		}
		time.Sleep(10 * time.Millisecond)
	}

	got, err := b.ListFanoutEndpoints(ctx, appID)
	if err != nil || len(got) != 1 || got[0].Disabled {
		t.Fatalf("B's first list: %v, %v", got, err)
	}
	off := true
	if _, err := a.UpdateEndpoint(ctx, &store.UpdateEndpointParams{AppID: appID, EndpointID: eps[0],
		Disabled: &off, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// The signal arrives after A's commit; wait for it (bounded).
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := b.ListFanoutEndpoints(ctx, appID)
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Disabled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("B still lists the endpoint enabled 10 s after A disabled it")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ListenDue: %v", err)
	}
}
