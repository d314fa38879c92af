package dispatch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jonboulle/clockwork"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/pgtest"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/pgstore"
	"github.com/hookd/hookd/internal/store/sqlitestore"
)

// backend opens a fresh store of one kind for a test, closed when it ends.
type backend struct {
	name string
	open func(t *testing.T) store.Store
}

// backends are the stores a test runs on: a SQLite file, and PostgreSQL
// (a fresh schema, dropped at the end) when HOOKD_TEST_POSTGRES_DSN names
// a server; without it the PostgreSQL case skips.
var backends = []backend{
	{"sqlite", func(t *testing.T) store.Store {
		st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "hookd.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}},
	{"postgres", func(t *testing.T) store.Store {
		st, err := pgstore.Open(context.Background(), postgresSchema(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}},
}

// postgresSchema returns a DSN for a fresh schema in the database that
// HOOKD_TEST_POSTGRES_DSN names, dropped when the test ends, or skips.
func postgresSchema(t *testing.T) string {
	t.Helper()
	base := pgtest.DSN(t, "the PostgreSQL case")
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("HOOKD_TEST_POSTGRES_DSN must be a postgres:// URL here: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "hookd_dispatch_" + hex.EncodeToString(b)
	exec := func(sql string) error {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("HOOKD_TEST_POSTGRES_DSN: %v", err)
	}
	t.Cleanup(func() { _ = exec("DROP SCHEMA " + schema + " CASCADE") })
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// holderStore is the store as the holder in a lease test sees it: it
// counts the lease renewals that reached the store, and the holder's
// polls claim nothing, so what it holds stays leased to it only by
// renewal, not by its poller claiming its own deliveries again once their
// leases ran out (TestReclaimOfHeldDeliveryDoesNotSendTwice covers that).
type holderStore struct {
	store.Store
	renewals atomic.Int64
}

func (s *holderStore) RenewLeases(ctx context.Context, p *store.RenewLeasesParams) error {
	err := s.Store.RenewLeases(ctx, p)
	if err == nil {
		s.renewals.Add(1)
	}
	return err
}

func (s *holderStore) ClaimDeliveries(context.Context, *store.ClaimDeliveriesParams) (*store.ClaimResult, error) {
	return &store.ClaimResult{}, nil
}

// TestLeaseRenewalKeepsHeldDeliveriesFromOtherClaimers holds deliveries
// (one in flight at a receiver that does not answer, two queued behind
// it) for three lease durations on the fake clock. While the holder is
// alive it renews its leases, and another owner claiming from the same
// store gets none of them; once the holder stops renewing (its loops
// stop, as when its process dies, and nothing is released), the other
// owner gets them all a lease later.
func TestLeaseRenewalKeepsHeldDeliveriesFromOtherClaimers(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			const lease = 30 * time.Second
			const renewEvery = lease / 3 // renewLoop's period
			shared := b.open(t)
			st := &holderStore{Store: shared}
			clock := clockwork.NewFakeClockAt(t0)

			release := make(chan struct{})
			rc := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
				select {
				case <-release:
				case <-r.Context().Done():
				}
			})
			// Deferred, so it runs before the cleanups: the hanging
			// attempt is let go before the dispatcher stops and the
			// receiver closes.
			defer close(release)

			d, err := New(Config{
				Store:                st,
				Clock:                clock,
				Jitter:               hook.NoJitter,
				AllowPrivateNetworks: true,
				AttemptTimeout:       time.Minute,
				EndpointConcurrency:  1,
				LeaseDuration:        lease,
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = d.Stop(context.Background()) })
			app, err := st.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "Shop", Now: t0})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.CreateEndpoint(ctx, &store.CreateEndpointParams{
				ID: hook.NewID("ep"), AppID: app.ID, URL: rc.URL, Secret: hook.NewSecret(), Now: t0,
			}); err != nil {
				t.Fatal(err)
			}
			var held []string
			for range 3 {
				res, err := d.Publish(ctx, app, &hook.Event{
					ID: hook.NewID("evt"), AppID: app.ID, Type: "order.created", Data: json.RawMessage(`{}`), CreatedAt: t0,
				})
				if err != nil {
					t.Fatal(err)
				}
				held = append(held, res.Deliveries[0].ID)
			}
			waitFor(t, "the first delivery to be in flight", func() bool { return rc.count() == 1 })

			claimByOther := func() []string {
				t.Helper()
				now := clock.Now()
				res, err := shared.ClaimDeliveries(ctx, &store.ClaimDeliveriesParams{
					Owner: "node_other", Now: now, LeaseUntil: now.Add(lease), Limit: 10, PerEndpoint: 10,
				})
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, j := range res.Jobs {
					ids = append(ids, j.DeliveryID)
				}
				return ids
			}

			// The holder is alive for three lease durations. Another
			// owner claims just before each renewal is due (the leases
			// must last until then) and just after it.
			renewing := true
			for step := int64(1); step <= 3*int64(lease/renewEvery); step++ {
				clock.Advance(renewEvery - time.Second)
				if got := claimByOther(); len(got) > 0 {
					t.Fatalf("t0+%s: another owner claimed %d of the %d deliveries a live dispatcher holds (lease %s)",
						clock.Now().Sub(t0), len(got), len(held), lease)
				}
				clock.Advance(time.Second)
				if renewing {
					deadline := time.Now().Add(10 * time.Second)
					for st.renewals.Load() < step && time.Now().Before(deadline) {
						time.Sleep(2 * time.Millisecond)
					}
					if st.renewals.Load() < step {
						t.Errorf("t0+%s: the holder has not renewed its leases (%d renewals, want %d)", clock.Now().Sub(t0), st.renewals.Load(), step)
						renewing = false // no use waiting again
					}
				}
				if got := claimByOther(); len(got) > 0 {
					t.Fatalf("t0+%s: another owner claimed %d of the %d deliveries a live dispatcher holds (lease %s)",
						clock.Now().Sub(t0), len(got), len(held), lease)
				}
			}

			// The holder dies: its loops stop, renewal with them, and
			// nothing is released. A lease after its last renewal, the
			// other owner gets every delivery it held, the one in flight
			// included.
			d.loopCancel()
			d.loops.Wait()
			if got := claimByOther(); len(got) > 0 {
				t.Fatalf("another owner claimed %d deliveries before the dead holder's lease ran out", len(got))
			}
			clock.Advance(lease)
			got := claimByOther()
			slices.Sort(got)
			slices.Sort(held)
			if !slices.Equal(got, held) {
				t.Fatalf("a lease after the holder stopped, another owner claimed %v, want all it held %v", got, held)
			}
		})
	}
}
