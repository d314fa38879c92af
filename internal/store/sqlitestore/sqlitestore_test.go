package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/storetest"
)

func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "hookd.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestLock(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	s, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, path, nil)
	if err == nil {
		t.Fatal("second Open of the same file succeeded")
	}
	if !strings.Contains(err.Error(), "is in use by another hookd process") || !strings.Contains(err.Error(), path) {
		t.Fatalf("second Open: unclear error %q", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	s2, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	s, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	app, err := s.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), UID: "kept", Name: "Kept", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := s.CreateEndpoint(ctx, &store.CreateEndpointParams{ID: hook.NewID("ep"), AppID: app.ID,
		URL: "https://example.com", Secret: hook.NewSecret(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.InsertEvent(ctx, &store.InsertEventParams{
		Event:      &hook.Event{ID: "e1", AppID: app.ID, Type: "a.b", Data: []byte(`{"a":1}`), CreatedAt: now},
		Deliveries: []store.NewDelivery{{ID: hook.NewID("dlv"), EndpointID: ep.ID, Claimed: true}},
		Owner:      "crashed", LeaseUntil: now.Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.GetApp(ctx, "kept")
	if err != nil || got.ID != app.ID {
		t.Fatalf("app after reopen: %v, %v", got, err)
	}
	ev, err := s.GetEvent(ctx, app.ID, "e1")
	if err != nil || string(ev.Data) != `{"a":1}` {
		t.Fatalf("event after reopen: %v, %v", ev, err)
	}
	// The lease of the previous process is taken back at start.
	n, err := s.ReleaseAllLeases(ctx)
	if err != nil || n != 1 {
		t.Fatalf("ReleaseAllLeases: %d, %v; want 1", n, err)
	}
	c, err := s.ClaimDeliveries(ctx, &store.ClaimDeliveriesParams{Owner: "new", Now: time.Now(),
		LeaseUntil: time.Now().Add(time.Minute), Limit: 10, PerEndpoint: 10})
	if err != nil || len(c.Jobs) != 1 || c.Jobs[0].DeliveryID != res.Deliveries[0].ID {
		t.Fatalf("claim after reopen: %+v, %v", c, err)
	}
}

func TestGroupCommit(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	now := time.Now()
	app, err := s.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "a", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := s.CreateEndpoint(ctx, &store.CreateEndpointParams{ID: hook.NewID("ep"), AppID: app.ID,
		URL: "https://example.com", Secret: hook.NewSecret(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	batches0, ops0 := s.nBatches.Load(), s.nOps.Load()
	const n = 100
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = s.InsertEvent(ctx, &store.InsertEventParams{
				Event:      &hook.Event{ID: hook.NewID("evt"), AppID: app.ID, Type: "a.b", Data: []byte(`{}`), CreatedAt: now},
				Deliveries: []store.NewDelivery{{ID: hook.NewID("dlv"), EndpointID: ep.ID}},
			})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
	}
	if got, _ := s.CountPendingDeliveries(ctx); got != n {
		t.Fatalf("pending: %d, want %d", got, n)
	}
	batches, ops := s.nBatches.Load()-batches0, s.nOps.Load()-ops0
	t.Logf("%d ops in %d transactions", ops, batches)
	if ops != n || batches >= n {
		t.Fatalf("%d ops in %d transactions: no batching", ops, batches)
	}
}

// TestBatchIsolation puts a failing operation in the middle of one batch:
// it alone fails, the others commit (after the batch is run again with
// savepoints).
func TestBatchIsolation(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	now := time.Now()
	app, err := s.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), UID: "taken", Name: "a", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := s.CreateEndpoint(ctx, &store.CreateEndpointParams{ID: hook.NewID("ep"), AppID: app.ID,
		URL: "https://example.com", Secret: hook.NewSecret(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	// Hold the writer so that the next operations queue up.
	release, running := make(chan struct{}), make(chan struct{})
	go func() {
		_ = s.write(ctx, func(context.Context, *sql.Tx) error { close(running); <-release; return nil })
	}()
	<-running
	batches0, retries0 := s.nBatches.Load(), s.nRetries.Load()

	const n = 10
	var wg sync.WaitGroup
	errs := make([]error, n)
	ids := make([]string, n)
	for i := range n {
		ids[i] = hook.NewID("app")
		uid := ""
		if i == n/2 {
			uid = "taken"
		}
		wg.Go(func() {
			_, errs[i] = s.CreateApp(ctx, &store.CreateAppParams{ID: ids[i], UID: uid, Name: "b", Now: now})
		})
	}
	// And one that writes before it fails: the event and its first
	// delivery go in, then the second endpoint is unknown.
	var insErr error
	wg.Go(func() {
		_, insErr = s.InsertEvent(ctx, &store.InsertEventParams{
			Event: &hook.Event{ID: "half", AppID: app.ID, Type: "a.b", Data: []byte(`{}`), CreatedAt: now},
			Deliveries: []store.NewDelivery{
				{ID: hook.NewID("dlv"), EndpointID: ep.ID}, {ID: hook.NewID("dlv"), EndpointID: hook.NewID("ep")},
			},
		})
	})
	for len(s.ops) < n+1 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if hook.ErrorCode(insErr) != hook.ENotFound {
		t.Fatalf("InsertEvent with an unknown endpoint: %v", insErr)
	}
	if _, err := s.GetEvent(ctx, app.ID, "half"); hook.ErrorCode(err) != hook.ENotFound {
		t.Fatalf("the failed insert's event was kept: %v", err)
	}
	if n, _ := s.CountPendingDeliveries(ctx); n != 0 {
		t.Fatalf("the failed insert's delivery was kept: %d pending", n)
	}
	if got := s.nBatches.Load() - batches0; got != 1 {
		t.Fatalf("%d batches after the holder, want 1", got)
	}
	if got := s.nRetries.Load() - retries0; got != 1 {
		t.Fatalf("%d batches run again with savepoints, want 1", got)
	}
	for i, err := range errs {
		if i == n/2 {
			if hook.ErrorCode(err) != hook.EConflict {
				t.Fatalf("duplicate uid: got %v, want a conflict", err)
			}
			if _, err := s.GetApp(ctx, ids[i]); hook.ErrorCode(err) != hook.ENotFound {
				t.Fatalf("the failed app exists: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("op %d failed with the batch: %v", i, err)
		}
		if _, err := s.GetApp(ctx, ids[i]); err != nil {
			t.Fatalf("op %d not committed: %v", i, err)
		}
	}
}

// TestCancelledWaiter: a caller that gives up gets ctx.Err() at once (a
// deadline that passed while waiting for the writer wrapped as
// store.ErrUnavailable: the store did not answer in time); the store goes
// on working.
func TestCancelledWaiter(t *testing.T) {
	s := openTemp(t)
	release, running := make(chan struct{}), make(chan struct{})
	go func() {
		_ = s.write(context.Background(), func(context.Context, *sql.Tx) error { close(running); <-release; return nil })
	}()
	<-running
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	id := hook.NewID("app")
	_, err := s.CreateApp(ctx, &store.CreateAppParams{ID: id, Name: "x", Now: time.Now()})
	close(release)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("got %v, want context.DeadlineExceeded as store.ErrUnavailable", err)
	}
	// The queued operation's caller has gone: it is skipped.
	if _, err := s.CreateApp(context.Background(), &store.CreateAppParams{ID: hook.NewID("app"), Name: "y", Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetApp(context.Background(), id); hook.ErrorCode(err) != hook.ENotFound {
		t.Fatalf("cancelled op ran: %v", err)
	}
}

func TestClosedStore(t *testing.T) {
	s := openTemp(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := s.CreateApp(context.Background(), &store.CreateAppParams{ID: hook.NewID("app"), Name: "x"})
	if err != ErrClosed {
		t.Fatalf("write after Close: %v, want ErrClosed", err)
	}
}

// migrationsAt opens the database file at path, beside any store, with
// its migrations applied up to version (none when version is 0), and
// returns it with its migration provider. The test's cleanup closes it;
// a test may close it sooner.
func migrationsAt(t *testing.T, path string, version int64) (*sql.DB, *goose.Provider) {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(path, "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	p, err := newProvider(db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if version > 0 {
		if _, err := p.UpTo(context.Background(), version); err != nil {
			t.Fatal(err)
		}
	}
	return db, p
}
