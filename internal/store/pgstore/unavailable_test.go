package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookd/hookd/internal/faultproxy"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

func TestUnavailableReason(t *testing.T) {
	t.Parallel()
	pgErr := func(code string) error {
		return fmt.Errorf("pgstore: x: %w", &pgconn.PgError{Code: code, Message: "m"})
	}
	tests := []struct {
		name   string
		err    error
		reason string // "" for an error that is not unavailability
	}{
		{"connection exception", pgErr("08006"), "the connection to the database failed"},
		{"connection does not exist", pgErr("08003"), "the connection to the database failed"},
		{"disk full", pgErr("53100"), "the database's disk is full"},
		{"out of memory", pgErr("53200"), "the database is out of memory"},
		{"too many connections", pgErr("53300"), "the database has too many connections"},
		{"configuration limit exceeded", pgErr("53400"), "the database is out of resources"},
		{"admin shutdown", pgErr("57P01"), "the database is shutting down"},
		{"crash shutdown", pgErr("57P02"), "the database is shutting down"},
		{"cannot connect now", pgErr("57P03"), "the database is not accepting connections yet"},
		{"read-only transaction", pgErr("25006"), "the database is read-only"},
		{"I/O error", pgErr("58030"), "the database had an I/O error"},
		{"connect error", &pgconn.ConnectError{}, "the database is not reachable"},
		{"deadline", fmt.Errorf("acquire: %w", context.DeadlineExceeded), "the database did not answer in time"},
		{"EOF", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), "the connection to the database was lost"},
		{"conn closed", pgconn.ErrConnClosed, "the connection to the database was lost"},
		{"network", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}, "the connection to the database failed"},

		// Conflicts between transactions are run again, not unavailability.
		{"serialization failure", pgErr("40001"), ""},
		{"deadlock", pgErr("40P01"), ""},
		{"unique violation", pgErr("23505"), ""},
		{"undefined table", pgErr("42P01"), ""},
		{"query cancelled", pgErr("57014"), ""},
		{"caller cancelled", fmt.Errorf("x: %w", context.Canceled), ""},
		{"no rows", pgx.ErrNoRows, ""},
		{"closed store", ErrClosed, ""},
		{"domain error", hook.NotFound("app", "x"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reason, ok := unavailableReason(tt.err)
			if reason != tt.reason || ok != (tt.reason != "") {
				t.Fatalf("unavailableReason(%v) = %q, %v; want %q", tt.err, reason, ok, tt.reason)
			}
			c := classify(tt.err)
			if got := errors.Is(c, store.ErrUnavailable); got != ok {
				t.Fatalf("classify(%v) wraps ErrUnavailable: %v, want %v", tt.err, got, ok)
			}
			if !errors.Is(c, tt.err) {
				t.Fatalf("classify(%v) = %v lost the error", tt.err, c)
			}
		})
	}
}

// openBehindProxy opens a store on a new schema through a faultproxy, so
// that the test can cut it from PostgreSQL.
func openBehindProxy(t *testing.T) (*Store, *faultproxy.Proxy) {
	t.Helper()
	dsn := newSchema(t)
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		t.Skipf("HOOKD_TEST_POSTGRES_DSN is not a URL with a host: %v", err)
	}
	p, err := faultproxy.Start(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	u.Host = p.Addr()
	s, err := Open(context.Background(), u.String(), &Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, p
}

// TestUnreachableUnavailable cuts the store from PostgreSQL: every method
// fails with ErrUnavailable, Ready fails, and once PostgreSQL is reachable
// again, Ready recovers (after its probe) and so do writes.
func TestUnreachableUnavailable(t *testing.T) {
	t.Parallel()
	s, proxy := openBehindProxy(t)
	ctx := context.Background()
	now := time.Now()
	app, err := s.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "a", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := s.CreateEndpoint(ctx, &store.CreateEndpointParams{ID: hook.NewID("ep"), AppID: app.ID,
		URL: "https://example.com/", EventTypes: []string{}, Headers: map[string]string{},
		Metadata: map[string]string{}, Secret: hook.NewSecret(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}

	proxy.Cut()
	event := func() *store.InsertEventParams {
		return &store.InsertEventParams{Event: &hook.Event{ID: hook.NewID("evt"), AppID: app.ID, Type: "a.b",
			Data: []byte(`{}`), CreatedAt: now}}
	}
	calls := []struct {
		name string
		call func() error
	}{
		{"Ping", func() error { return s.Ping(ctx) }},
		{"GetAPIKeyByHash", func() error { _, err := s.GetAPIKeyByHash(ctx, []byte("h")); return err }},
		{"CreateAPIKey", func() error {
			_, err := s.CreateAPIKey(ctx, &store.CreateAPIKeyParams{ID: hook.NewID("key"), Name: "k", Hash: []byte("h"), Now: now})
			return err
		}},
		{"ListAPIKeys", func() error { _, err := s.ListAPIKeys(ctx, &store.ListAPIKeysParams{}); return err }},
		{"CountAPIKeys", func() error { _, err := s.CountAPIKeys(ctx); return err }},
		{"DeleteAPIKey", func() error { return s.DeleteAPIKey(ctx, "key_x") }},
		{"CreateApp", func() error {
			_, err := s.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "b", Now: now})
			return err
		}},
		{"GetApp", func() error { _, err := s.GetApp(ctx, app.ID); return err }},
		{"GetApp by uid", func() error { _, err := s.GetApp(ctx, "some-uid"); return err }},
		{"ListApps", func() error { _, err := s.ListApps(ctx, &store.ListAppsParams{}); return err }},
		{"UpdateApp", func() error {
			n := "c"
			_, err := s.UpdateApp(ctx, &store.UpdateAppParams{AppID: app.ID, Name: &n, Now: now})
			return err
		}},
		{"DeleteApp", func() error { return s.DeleteApp(ctx, "app_x") }},
		{"CreateEventType", func() error {
			_, err := s.CreateEventType(ctx, &store.CreateEventTypeParams{Name: "a.b", Now: now})
			return err
		}},
		{"GetEventType", func() error { _, err := s.GetEventType(ctx, "a.b"); return err }},
		{"ListEventTypes", func() error { _, err := s.ListEventTypes(ctx, &store.ListEventTypesParams{}); return err }},
		{"PutEventTypes", func() error {
			_, err := s.PutEventTypes(ctx, &store.PutEventTypesParams{Types: []*hook.EventType{{Name: "c.d"}}, Now: now})
			return err
		}},
		{"GetEndpoint", func() error { _, err := s.GetEndpoint(ctx, app.ID, ep.ID); return err }},
		{"ListEndpoints", func() error {
			_, err := s.ListEndpoints(ctx, &store.ListEndpointsParams{AppID: app.ID})
			return err
		}},
		{"ListEnabledEndpoints", func() error { _, err := s.ListEnabledEndpoints(ctx, app.ID); return err }},
		{"DeleteEndpoint", func() error { return s.DeleteEndpoint(ctx, app.ID, "ep_x") }},
		{"InsertEvent", func() error { _, err := s.InsertEvent(ctx, event()); return err }},
		{"InsertEvents", func() error {
			_, err := s.InsertEvents(ctx, &store.InsertEventsParams{Events: []store.InsertEventParams{*event(), *event()}})
			return err
		}},
		{"GetEvent", func() error { _, err := s.GetEvent(ctx, app.ID, "evt_x"); return err }},
		{"ListEvents", func() error { _, err := s.ListEvents(ctx, &store.ListEventsParams{AppID: app.ID}); return err }},
		{"GetDelivery", func() error { _, err := s.GetDelivery(ctx, app.ID, "dlv_x"); return err }},
		{"ListDeliveries", func() error {
			_, err := s.ListDeliveries(ctx, &store.ListDeliveriesParams{AppID: app.ID})
			return err
		}},
		{"ClaimDeliveries", func() error {
			_, err := s.ClaimDeliveries(ctx, &store.ClaimDeliveriesParams{Owner: "w", Now: now,
				LeaseUntil: now.Add(time.Minute), Limit: 10, PerEndpoint: 10})
			return err
		}},
		{"NextDue", func() error { _, _, err := s.NextDue(ctx); return err }},
		{"CountPendingDeliveries", func() error { _, err := s.CountPendingDeliveries(ctx); return err }},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s while PostgreSQL is unreachable: %v, want ErrUnavailable", c.name, err)
		}
	}
	err = s.Ready(ctx)
	if ue, ok := store.AsUnavailable(err); !ok {
		t.Fatalf("Ready while PostgreSQL is unreachable: %v, want ErrUnavailable", err)
	} else if ue.Reason == "" {
		t.Fatal("no reason")
	}

	proxy.Restore()
	// The failed writes are remembered until the probe succeeds, which
	// Ready runs now that the ping does.
	if err := s.health.Failed(); err == nil {
		t.Fatal("the failed writes were not recorded")
	}
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready once PostgreSQL is back: %v", err)
	}
	if _, err := s.InsertEvent(ctx, event()); err != nil {
		t.Fatalf("InsertEvent once PostgreSQL is back: %v", err)
	}
}

// TestReadyProbeReadOnly makes the store's writes fail while its pings
// succeed: Ready stays failing until writes work again.
func TestReadyProbeReadOnly(t *testing.T) {
	t.Parallel()
	dsn := newSchema(t)
	s := openDSN(t, dsn)
	ctx := context.Background()
	app, err := s.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "a", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	ro := openDSN(t, withParam(t, dsn, "default_transaction_read_only", "on"))
	_, err = ro.InsertEvent(ctx, &store.InsertEventParams{Event: &hook.Event{ID: hook.NewID("evt"), AppID: app.ID,
		Type: "a.b", Data: []byte(`{}`), CreatedAt: time.Now()}})
	if ue, ok := store.AsUnavailable(err); !ok || ue.Reason != "the database is read-only" {
		t.Fatalf("InsertEvent in a read-only session: %v, want unavailable: the database is read-only", err)
	}
	if err := ro.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := ro.Ready(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ready of a read-only store: %v, want ErrUnavailable", err)
	}
}
