package storetest

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/store"
)

// testSlots checks store.SlotLeaser, for the stores that implement it.
func testSlots(t *testing.T, open Opener) {
	// slots opens a store and returns its leaser and one endpoint id; it
	// skips the test for a store that is not a SlotLeaser.
	slots := func(t *testing.T) (*h, store.SlotLeaser, string) {
		h := setup(t, open)
		l, ok := h.s.(store.SlotLeaser)
		if !ok {
			t.Skipf("%T does not implement store.SlotLeaser", h.s)
		}
		app := h.app("")
		return h, l, h.endpoint(app.ID).ID
	}
	// lease asks for want of ep's limit slots as owner at now, until now+d.
	lease := func(h *h, l store.SlotLeaser, owner, ep string, want, limit int, now time.Time, d time.Duration) store.SlotGrant {
		h.t.Helper()
		g, err := l.LeaseSlots(h.ctx, &store.LeaseSlotsParams{Owner: owner, Now: now, Until: now.Add(d),
			Requests: []store.SlotRequest{{EndpointID: ep, Want: want, Limit: limit}}})
		must(h.t, err, "LeaseSlots")
		if len(g) != 1 {
			h.t.Fatalf("LeaseSlots: %d grants for one request", len(g))
		}
		got, ok := g[ep]
		if !ok {
			h.t.Fatalf("LeaseSlots: no grant for %s", ep)
		}
		return got
	}

	t.Run("Exact", func(t *testing.T) {
		h, l, ep := slots(t)
		deepEq(t, lease(h, l, "A", ep, 3, 4, h.now, time.Minute), store.SlotGrant{Granted: 3}, "A wants 3 of 4")
		deepEq(t, lease(h, l, "B", ep, 3, 4, h.now, time.Minute), store.SlotGrant{Granted: 1, Others: 1}, "B wants 3: 1 is left")
		deepEq(t, lease(h, l, "A", ep, 3, 4, h.at(time.Second), time.Minute), store.SlotGrant{Granted: 3, Waiting: 1, Others: 1},
			"A again: B waits for more")
		deepEq(t, lease(h, l, "B", ep, 3, 4, h.at(time.Second), time.Minute), store.SlotGrant{Granted: 1, Others: 1}, "B again")
		// A gives back: B gets more.
		deepEq(t, lease(h, l, "A", ep, 1, 4, h.at(2*time.Second), time.Minute), store.SlotGrant{Granted: 1, Waiting: 1, Others: 1},
			"A shrinks to 1")
		deepEq(t, lease(h, l, "B", ep, 3, 4, h.at(2*time.Second), time.Minute), store.SlotGrant{Granted: 3, Others: 1}, "B gets 3")
		deepEq(t, lease(h, l, "C", ep, 2, 4, h.at(2*time.Second), time.Minute), store.SlotGrant{Granted: 0, Others: 2},
			"C: none left")
		deepEq(t, lease(h, l, "A", ep, 1, 4, h.at(3*time.Second), time.Minute), store.SlotGrant{Granted: 1, Waiting: 1, Others: 1},
			"A sees C waiting")

		// Several endpoints in one call, each on its own.
		app := h.app("")
		other := h.endpoint(app.ID).ID
		g, err := l.LeaseSlots(h.ctx, &store.LeaseSlotsParams{Owner: "D", Now: h.at(3 * time.Second), Until: h.at(time.Minute),
			Requests: []store.SlotRequest{{EndpointID: other, Want: 2, Limit: 2}, {EndpointID: ep, Want: 5, Limit: 4}}})
		must(t, err, "LeaseSlots of two endpoints")
		deepEq(t, g, map[string]store.SlotGrant{other: {Granted: 2}, ep: {Granted: 0, Waiting: 1, Others: 2}}, "grants of two endpoints")
		g, err = l.LeaseSlots(h.ctx, &store.LeaseSlotsParams{Owner: "D", Now: h.now, Until: h.at(time.Minute)})
		must(t, err, "LeaseSlots of nothing")
		eq(t, len(g), 0, "grants of no request")
	})

	t.Run("Expiry", func(t *testing.T) {
		h, l, ep := slots(t)
		deepEq(t, lease(h, l, "A", ep, 4, 4, h.now, 10*time.Second), store.SlotGrant{Granted: 4}, "A takes all")
		deepEq(t, lease(h, l, "B", ep, 4, 4, h.at(10*time.Second-time.Millisecond), time.Minute),
			store.SlotGrant{Granted: 0, Others: 1}, "B while A's lease holds")
		// At Until, A's lease has run out: its slots are free.
		deepEq(t, lease(h, l, "B", ep, 4, 4, h.at(10*time.Second), time.Minute), store.SlotGrant{Granted: 4},
			"B once A's lease ran out")
		deepEq(t, lease(h, l, "A", ep, 4, 4, h.at(11*time.Second), time.Minute), store.SlotGrant{Granted: 0, Others: 1},
			"A after its lease ran out")
		deepEq(t, lease(h, l, "B", ep, 4, 4, h.at(12*time.Second), time.Minute), store.SlotGrant{Granted: 4, Waiting: 1},
			"B sees A waiting")
		// A waiter whose lease ran out is no longer counted.
		deepEq(t, lease(h, l, "B", ep, 4, 4, h.at(11*time.Second+time.Minute), time.Minute), store.SlotGrant{Granted: 4},
			"B after A's wait ran out")
	})

	t.Run("WantZero", func(t *testing.T) {
		h, l, ep := slots(t)
		deepEq(t, lease(h, l, "A", ep, 3, 3, h.now, time.Hour), store.SlotGrant{Granted: 3}, "A takes all")
		deepEq(t, lease(h, l, "B", ep, 2, 3, h.now, time.Hour), store.SlotGrant{Granted: 0, Others: 1}, "B gets none")
		deepEq(t, lease(h, l, "A", ep, 0, 3, h.now, time.Hour), store.SlotGrant{Granted: 0, Waiting: 1}, "A gives all back")
		deepEq(t, lease(h, l, "B", ep, 2, 3, h.now, time.Hour), store.SlotGrant{Granted: 2}, "B after A's release")
		deepEq(t, lease(h, l, "C", ep, 3, 3, h.now, time.Hour), store.SlotGrant{Granted: 1, Others: 1}, "C: what B left")
	})

	t.Run("Renew", func(t *testing.T) {
		h, l, ep := slots(t)
		deepEq(t, lease(h, l, "A", ep, 2, 4, h.now, 10*time.Second), store.SlotGrant{Granted: 2}, "A")
		deepEq(t, lease(h, l, "B", ep, 2, 4, h.now, 10*time.Second), store.SlotGrant{Granted: 2, Others: 1}, "B")
		must(t, h.s.RenewLeases(h.ctx, &store.RenewLeasesParams{Owner: "A", Until: h.at(time.Hour)}), "RenewLeases")
		// B's lease ran out, A's was renewed.
		deepEq(t, lease(h, l, "C", ep, 4, 4, h.at(30*time.Second), time.Minute), store.SlotGrant{Granted: 2, Others: 1},
			"C after B's lease ran out and A's was renewed")
		deepEq(t, lease(h, l, "C", ep, 4, 4, h.at(time.Hour), time.Minute), store.SlotGrant{Granted: 4},
			"C after A's renewed lease ran out")
	})

	// Race: owners lease one endpoint's slots at the same moment. The
	// race is sharpest on an endpoint nobody holds yet (no row to lock, so
	// only the store's own serialisation keeps two owners from both seeing
	// every slot free), so each round starts on a new endpoint, with every
	// owner released at once by a barrier and asking for all the slots;
	// then every owner changes its want at once, and a last owner checks
	// that the store holds exactly what was granted. Rounds repeat the
	// race so that a missing lock fails every run, not some.
	t.Run("Race", func(t *testing.T) {
		h, l, _ := slots(t)
		app := h.app("")
		const owners, limit, rounds = 8, 3, 25
		until := h.at(time.Hour)
		// wave leases, for every owner at once, want[i] of the endpoint's
		// slots, and returns the grants.
		wave := func(ep string, want []int) []store.SlotGrant {
			t.Helper()
			var (
				ready, done sync.WaitGroup
				start       = make(chan struct{})
				grants      = make([]store.SlotGrant, owners)
				errs        = make([]error, owners)
			)
			for i := range owners {
				ready.Add(1)
				done.Go(func() {
					ready.Done()
					<-start
					var g map[string]store.SlotGrant
					g, errs[i] = l.LeaseSlots(h.ctx, &store.LeaseSlotsParams{Owner: string(rune('A' + i)), Now: h.now,
						Until: until, Requests: []store.SlotRequest{{EndpointID: ep, Want: want[i], Limit: limit}}})
					grants[i] = g[ep]
				})
			}
			ready.Wait()
			close(start)
			done.Wait()
			for i, err := range errs {
				must(t, err, "LeaseSlots of owner "+string(rune('A'+i)))
			}
			return grants
		}
		for round := range rounds {
			ep := h.endpoint(app.ID).ID
			all := make([]int, owners)
			for i := range all {
				all[i] = limit
			}
			// Everyone wants every slot of a new endpoint: whoever comes
			// first gets them all, the others nothing.
			sum := 0
			for _, g := range wave(ep, all) {
				sum += g.Granted
			}
			if sum != limit {
				t.Fatalf("round %d: %d owners asking at once for all %d slots of a new endpoint were granted %d in all",
					round, owners, limit, sum)
			}
			// Everyone changes its want at once (0 gives all back).
			want := make([]int, owners)
			for i := range want {
				want[i] = rand.IntN(limit + 1)
			}
			grants := wave(ep, want)
			var wantGrant store.SlotGrant
			sum = 0
			for i, g := range grants {
				if g.Granted < 0 || g.Granted > want[i] {
					t.Fatalf("round %d: owner %c wants %d, granted %d", round, 'A'+i, want[i], g.Granted)
				}
				sum += g.Granted
				if g.Granted > 0 {
					wantGrant.Others++
				}
				if want[i] > g.Granted {
					wantGrant.Waiting++
				}
			}
			if sum > limit {
				t.Fatalf("round %d: grants add up to %d, limit %d: wants %v, grants %+v", round, sum, limit, want, grants)
			}
			// A last owner sees exactly what the others were granted.
			wantGrant.Granted = limit - sum
			deepEq(t, lease(h, l, "Z", ep, limit, limit, h.now, time.Hour), wantGrant,
				fmt.Sprintf("round %d: a last owner after wants %v and grants %+v", round, want, grants))
		}
	})
}
