package pgstore

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// finishedEvent inserts an event created at, with one delivery to ep that
// is already finished with status (succeeded or failed), and returns the
// event's and the delivery's ids.
func finishedEvent(t *testing.T, s *Store, appID, ep string, at time.Time, status string) (string, string) {
	t.Helper()
	ctx := context.Background()
	res, err := s.InsertEvent(ctx, &store.InsertEventParams{
		Event:      &hook.Event{ID: hook.NewID("evt"), AppID: appID, Type: "a.b", Data: []byte(`{}`), CreatedAt: at},
		Deliveries: []store.NewDelivery{{ID: hook.NewID("dlv"), EndpointID: ep, Claimed: true}},
		Owner:      "w", LeaseUntil: at.Add(time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	dlv := res.Deliveries[0].ID
	err = s.RecordAttempt(ctx, &store.RecordAttemptParams{Owner: "w",
		Attempt: &hook.Attempt{ID: hook.NewID("att"), DeliveryID: dlv, Number: 1,
			Trigger: hook.TriggerScheduled, StartedAt: at, ResponseStatus: 500},
		ScheduledAttempts: 1, Decision: hook.Decision{Status: status}, Now: at})
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.GetDelivery(ctx, appID, dlv)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != status {
		t.Fatalf("delivery %s: %s, want %s", dlv, d.Status, status)
	}
	return res.Event.ID, dlv
}

// waitLockWaiter waits until some transaction waits for a lock on table
// (in conn's search_path), checking on conn: it polls for a state, on no
// schedule, and fails the test after a generous bound.
func waitLockWaiter(t *testing.T, conn *pgx.Conn, table string) {
	t.Helper()
	ctx := context.Background()
	for i := 0; ; i++ {
		var waiting int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE relation = $1::regclass AND NOT granted`,
			table).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			return
		}
		if i > 3000 {
			t.Fatalf("no transaction came to wait for a lock on %s", table)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPurgeRacesManualRetry drives, step by step, a manual retry (or an
// endpoint's recovery) into the gap between the purge's scan, which found
// an old event with no pending delivery, and its DELETE: the DELETE must
// check again and keep the event, whose delivery is pending now.
//
// The gap is held open by a second connection holding the events table in
// SHARE mode: the scan (a plain SELECT) passes it, the DELETE waits for it.
// While the purge waits, the retry commits (it writes only deliveries);
// then the lock goes and the DELETE runs, on a snapshot taken after its
// lock, so that it sees the retry.
func TestPurgeRacesManualRetry(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status string // the delivery's, before the race
		race   func(t *testing.T, s *Store, appID, ep, dlv string, now time.Time) error
	}{
		{"RetryDelivery", hook.DeliverySucceeded, func(t *testing.T, s *Store, appID, _, dlv string, now time.Time) error {
			d, err := s.RetryDelivery(context.Background(), &store.RetryDeliveryParams{AppID: appID, DeliveryID: dlv, Now: now})
			if err == nil && d.Status != hook.DeliveryPending {
				t.Errorf("retried delivery: %s, want pending", d.Status)
			}
			return err
		}},
		{"RecoverEndpoint", hook.DeliveryFailed, func(t *testing.T, s *Store, appID, ep, _ string, now time.Time) error {
			n, err := s.RecoverEndpoint(context.Background(), &store.RecoverEndpointParams{AppID: appID, EndpointID: ep,
				Since: now.Add(-30 * 24 * time.Hour), Now: now})
			if err == nil && n != 1 {
				t.Errorf("RecoverEndpoint recovered %d deliveries, want 1", n)
			}
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dsn := newSchema(t)
			s := openDSN(t, dsn)
			ctx := context.Background()
			appID, eps := fixture(t, s, 1)
			now := time.Now().UTC().Truncate(time.Millisecond)
			evt, dlv := finishedEvent(t, s, appID, eps[0], now.Add(-10*24*time.Hour), tc.status)
			// A second old event, with nothing racing it, is purged:
			// the purge does run its DELETE.
			other, _ := finishedEvent(t, s, appID, eps[0], now.Add(-9*24*time.Hour), hook.DeliverySucceeded)

			lock, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer lock.Close(ctx)
			if _, err := lock.Exec(ctx, `BEGIN; LOCK TABLE events IN SHARE MODE`); err != nil {
				t.Fatal(err)
			}
			type result struct {
				res *store.PurgeEventsResult
				err error
			}
			purged := make(chan result, 1)
			go func() {
				res, err := s.PurgeEvents(ctx, &store.PurgeEventsParams{Before: now.Add(-24 * time.Hour), Limit: 100})
				purged <- result{res, err}
			}()
			// The purge has scanned (both events doomed) and waits to
			// delete.
			waitLockWaiter(t, lock, "events")
			if err := tc.race(t, s, appID, eps[0], dlv, now); err != nil {
				t.Fatalf("%s while the purge waits: %v", tc.name, err)
			}
			if _, err := lock.Exec(ctx, `COMMIT`); err != nil {
				t.Fatal(err)
			}
			r := <-purged
			if r.err != nil {
				t.Fatalf("PurgeEvents: %v", r.err)
			}
			if r.res.Deleted != 1 || !r.res.Done {
				t.Fatalf("PurgeEvents: deleted %d (done %v), want 1: the event nothing raced, not the one whose delivery became pending while the purge waited",
					r.res.Deleted, r.res.Done)
			}
			if _, err := s.GetEvent(ctx, appID, other); hook.ErrorCode(err) != hook.ENotFound {
				t.Fatalf("GetEvent of the event nothing raced: %v, want not found", err)
			}
			if _, err := s.GetEvent(ctx, appID, evt); err != nil {
				t.Fatalf("GetEvent of the event whose delivery became pending: %v", err)
			}
			d, err := s.GetDelivery(ctx, appID, dlv)
			if err != nil {
				t.Fatalf("GetDelivery of the delivery made pending: %v", err)
			}
			if d.Status != hook.DeliveryPending {
				t.Fatalf("delivery made pending: %s", d.Status)
			}
		})
	}
}

// storeWaiters counts the backends named app (application_name) that wait
// for a lock, checking on conn.
func storeWaiters(t *testing.T, conn *pgx.Conn, app string) int {
	t.Helper()
	var n int
	err := conn.QueryRow(context.Background(), `SELECT count(DISTINCT l.pid) FROM pg_locks l
		JOIN pg_stat_activity a ON a.pid = l.pid WHERE a.application_name = $1 AND NOT l.granted`, app).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPurgeRacesRetryUnderWay drives the purge into a manual retry (or an
// endpoint's recovery) that has made an old event's delivery pending but
// not yet committed: the purge's scan and its second check cannot see the
// change, so the retry must keep the event from being deleted under it
// (a retry reported done whose delivery is then gone is a lost retry).
//
// The retry is held mid-transaction by a second connection: RetryDelivery
// reads the endpoints table after its update, and the connection holds
// that table exclusively; RecoverEndpoint updates two failed deliveries,
// and the connection holds the row of the one of a recent event. The
// purge runs while the retry waits, until it ends or waits too; then the
// connection lets go.
func TestPurgeRacesRetryUnderWay(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status string // the old delivery's, before the race
		// hold takes, in tx, what the retry will wait for.
		hold func(t *testing.T, tx pgx.Tx, recentDelivery string)
		race func(t *testing.T, s *Store, appID, ep, dlv string, now time.Time) error
	}{
		{"RetryDelivery", hook.DeliverySucceeded,
			func(t *testing.T, tx pgx.Tx, _ string) {
				if _, err := tx.Exec(context.Background(), `LOCK TABLE endpoints IN ACCESS EXCLUSIVE MODE`); err != nil {
					t.Fatal(err)
				}
			},
			func(t *testing.T, s *Store, appID, _, dlv string, now time.Time) error {
				d, err := s.RetryDelivery(context.Background(), &store.RetryDeliveryParams{AppID: appID, DeliveryID: dlv, Now: now})
				if err == nil && d.Status != hook.DeliveryPending {
					t.Errorf("retried delivery: %s, want pending", d.Status)
				}
				return err
			}},
		{"RecoverEndpoint", hook.DeliveryFailed,
			func(t *testing.T, tx pgx.Tx, recent string) {
				if _, err := tx.Exec(context.Background(), `SELECT 1 FROM deliveries WHERE id = $1 FOR UPDATE`, recent); err != nil {
					t.Fatal(err)
				}
			},
			func(t *testing.T, s *Store, appID, ep, _ string, now time.Time) error {
				n, err := s.RecoverEndpoint(context.Background(), &store.RecoverEndpointParams{AppID: appID, EndpointID: ep,
					Since: now.Add(-30 * 24 * time.Hour), Now: now})
				if err == nil && n != 2 {
					t.Errorf("RecoverEndpoint recovered %d deliveries, want 2", n)
				}
				return err
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app := randomName("hookd_purge_")
			dsn := newSchema(t)
			s := openDSN(t, withParam(t, dsn, "application_name", app))
			ctx := context.Background()
			appID, eps := fixture(t, s, 1)
			now := time.Now().UTC().Truncate(time.Millisecond)
			evt, dlv := finishedEvent(t, s, appID, eps[0], now.Add(-10*24*time.Hour), tc.status)
			other, _ := finishedEvent(t, s, appID, eps[0], now.Add(-9*24*time.Hour), hook.DeliverySucceeded)
			_, recent := finishedEvent(t, s, appID, eps[0], now.Add(-time.Hour), hook.DeliveryFailed)

			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			lock, err := conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = lock.Rollback(ctx) }() // committed below, unless the test failed first
			tc.hold(t, lock, recent)
			watch, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer watch.Close(ctx)

			raced := make(chan error, 1)
			go func() { raced <- tc.race(t, s, appID, eps[0], dlv, now) }()
			for i := 0; storeWaiters(t, watch, app) < 1; i++ {
				if i > 3000 {
					t.Fatalf("%s never came to wait for the held lock", tc.name)
				}
				time.Sleep(10 * time.Millisecond)
			}

			type result struct {
				res *store.PurgeEventsResult
				err error
			}
			purged := make(chan result, 1)
			go func() {
				res, err := s.PurgeEvents(ctx, &store.PurgeEventsParams{Before: now.Add(-24 * time.Hour), Limit: 100})
				purged <- result{res, err}
			}()
			// The purge ends, or waits for the retry.
			var r result
		wait:
			for i := 0; ; i++ {
				select {
				case r = <-purged:
					break wait
				default:
				}
				if storeWaiters(t, watch, app) >= 2 {
					break wait
				}
				if i > 3000 {
					t.Fatal("the purge neither ended nor came to wait")
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err := lock.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if err := <-raced; err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if r.res == nil && r.err == nil {
				r = <-purged
			}
			if r.err != nil {
				t.Fatalf("PurgeEvents: %v", r.err)
			}
			if r.res.Deleted != 1 {
				t.Errorf("PurgeEvents: deleted %d, want 1 (the event nothing raced)", r.res.Deleted)
			}
			if _, err := s.GetEvent(ctx, appID, other); hook.ErrorCode(err) != hook.ENotFound {
				t.Errorf("GetEvent of the event nothing raced: %v, want not found", err)
			}
			if _, err := s.GetEvent(ctx, appID, evt); err != nil {
				t.Errorf("GetEvent of the event whose delivery was being made pending: %v", err)
			}
			d, err := s.GetDelivery(ctx, appID, dlv)
			if err != nil {
				t.Fatalf("GetDelivery of the delivery made pending: %v", err)
			}
			if d.Status != hook.DeliveryPending {
				t.Fatalf("delivery made pending: %s", d.Status)
			}
		})
	}
}
