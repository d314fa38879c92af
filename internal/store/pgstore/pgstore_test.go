package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/pgtest"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/storetest"
)

// The tests need a PostgreSQL server: HOOKD_TEST_POSTGRES_DSN, e.g.
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable, names a
// database in which they may create and drop schemas (and, for the
// LISTEN tests, databases). Each store gets a schema of its own.

func testDSN(t testing.TB) string {
	t.Helper()
	return pgtest.DSN(t, "PostgreSQL tests")
}

// TestMain says, at the end, when the tests skipped for want of a server.
func TestMain(m *testing.M) { os.Exit(pgtest.Run(m, "pgstore")) }

func randomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// withParam returns dsn (a URL or a key=value string) with one more
// connection parameter.
func withParam(t testing.TB, dsn, key, value string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " " + key + "=" + value
}

// withDatabase returns dsn naming another database.
func withDatabase(t testing.TB, dsn, db string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/" + db
		return u.String()
	}
	return dsn + " dbname=" + db
}

// admin runs statements on a connection of the test DSN.
func admin(t testing.TB, dsn string, sql ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range sql {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// newSchema creates an empty schema, dropped when the test ends, and
// returns the DSN whose search_path is that schema.
func newSchema(t testing.TB) string {
	t.Helper()
	dsn := testDSN(t)
	name := randomName("hookd_test_")
	admin(t, dsn, "CREATE SCHEMA "+name)
	t.Cleanup(func() { admin(t, dsn, "DROP SCHEMA "+name+" CASCADE") })
	return withParam(t, dsn, "search_path", name)
}

// newDatabase creates an empty database, dropped when the test ends, and
// returns its DSN. LISTEN channels are per database: the LISTEN tests get
// one of their own, so that no other test's signals reach them.
func newDatabase(t testing.TB) string {
	t.Helper()
	dsn := testDSN(t)
	name := randomName("hookd_test_")
	admin(t, dsn, "CREATE DATABASE "+name)
	t.Cleanup(func() { admin(t, dsn, "DROP DATABASE "+name+" WITH (FORCE)") })
	return withDatabase(t, dsn, name)
}

func openDSN(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, &Options{MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// openTemp opens a store on a new schema.
func openTemp(t testing.TB) *Store { return openDSN(t, newSchema(t)) }

func TestConformance(t *testing.T) {
	testDSN(t)
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestCloseTwiceAndWritesAfterClose(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err := s.InsertEvent(ctx, &store.InsertEventParams{Event: &hook.Event{ID: "e", AppID: "app_x", Type: "a.b", CreatedAt: time.Now()}})
	if err != ErrClosed {
		t.Fatalf("InsertEvent after Close: got %v, want ErrClosed", err)
	}
	if _, err := s.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "x"}); err != ErrClosed {
		t.Fatalf("CreateApp after Close: got %v, want ErrClosed", err)
	}
}

func TestMigrations(t *testing.T) {
	dsn := newSchema(t)
	ctx := context.Background()

	st, err := MigrationStatus(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) == 0 {
		t.Fatal("MigrationStatus: no migrations")
	}
	for _, m := range st {
		if m.Applied || !m.AppliedAt.IsZero() {
			t.Fatalf("before: %+v is applied", m)
		}
	}
	if st[0].Version != 1 || st[0].Name != "00001_init.sql" {
		t.Fatalf("first migration: %+v", st[0])
	}
	// MigrationStatus changes nothing: still no version table.
	if st2, err := MigrationStatus(ctx, dsn); err != nil || st2[0].Applied {
		t.Fatalf("MigrationStatus again: %+v, %v", st2, err)
	}

	// Open without migrating on an empty schema fails with the hint.
	_, err = Open(ctx, dsn, &Options{SkipMigrate: true})
	if err == nil || !strings.Contains(err.Error(), "hookd migrate up") {
		t.Fatalf("Open with SkipMigrate on an empty schema: got %v, want the `hookd migrate up` hint", err)
	}

	// Five at once: all succeed, one applies each migration.
	const n = 5
	var (
		wg      sync.WaitGroup
		errs    [n]error
		applied [n][]store.MigrationState
		start   = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			<-start
			applied[i], errs[i] = MigrateUp(ctx, dsn)
		})
	}
	close(start)
	wg.Wait()
	total := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("MigrateUp %d: %v", i, errs[i])
		}
		total += len(applied[i])
		for _, m := range applied[i] {
			if !m.Applied || m.AppliedAt.IsZero() {
				t.Fatalf("applied migration %+v", m)
			}
		}
	}
	if total != len(st) {
		t.Fatalf("migrations applied by the 5 runs: %d, want %d", total, len(st))
	}

	after, err := MigrationStatus(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(st) {
		t.Fatalf("after: %d migrations, want %d", len(after), len(st))
	}
	for _, m := range after {
		if !m.Applied || m.AppliedAt.IsZero() {
			t.Fatalf("after: %+v not applied", m)
		}
	}
	// The version table is goose's, in the schema.
	var version int64
	s, err := Open(ctx, dsn, &Options{SkipMigrate: true, MaxConns: 2})
	if err != nil {
		t.Fatalf("Open with SkipMigrate on an up-to-date schema: %v", err)
	}
	defer s.Close()
	if err := s.pool.QueryRow(ctx, `SELECT max(version_id) FROM goose_db_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != after[len(after)-1].Version {
		t.Fatalf("version %d, want %d", version, after[len(after)-1].Version)
	}
	var schema string
	if err := s.pool.QueryRow(ctx, `SELECT table_schema FROM information_schema.tables WHERE table_name = 'deliveries' AND table_schema = current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(schema, "hookd_test_") {
		t.Fatalf("tables in schema %q", schema)
	}
	var tables int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_name = 'goose_db_version'`).Scan(&tables); err != nil || tables != 1 {
		t.Fatalf("goose's version table in the schema: %d, %v", tables, err)
	}
	again, err := MigrateUp(ctx, dsn)
	if err != nil || len(again) != 0 {
		t.Fatalf("MigrateUp on an up-to-date schema: %v, %v", again, err)
	}
}

// TestSynchronousCommit: a DSN cannot turn synchronous commits off.
func TestSynchronousCommit(t *testing.T) {
	s := openDSN(t, withParam(t, newSchema(t), "synchronous_commit", "off"))
	var v string
	if err := s.pool.QueryRow(context.Background(), `SHOW synchronous_commit`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != "on" {
		t.Fatalf("synchronous_commit = %q", v)
	}
}

// fixture is an app with endpoints in a store.
func fixture(t testing.TB, s *Store, endpoints int) (string, []string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	app, err := s.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "test", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	var eps []string
	for range endpoints {
		ep, err := s.CreateEndpoint(ctx, &store.CreateEndpointParams{ID: hook.NewID("ep"), AppID: app.ID,
			URL: "https://example.com/hook", Secret: hook.NewSecret(), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, ep.ID)
	}
	return app.ID, eps
}

func TestInsertEventAcrossStores(t *testing.T) {
	dsn := newSchema(t)
	a, b := openDSN(t, dsn), openDSN(t, dsn)
	appID, eps := fixture(t, a, 2)
	ctx := context.Background()
	for round := range 20 {
		const n = 8
		var (
			wg      sync.WaitGroup
			results [n]*store.InsertEventResult
			errs    [n]error
			start   = make(chan struct{})
		)
		id := "raced-" + hook.NewID("e")
		for i := range n {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Go(func() {
				<-start
				results[i], errs[i] = s.InsertEvent(ctx, &store.InsertEventParams{
					Event: &hook.Event{ID: id, AppID: appID, Type: "a.b", Data: []byte(`{"i":1}`), CreatedAt: time.Now()},
					Deliveries: []store.NewDelivery{
						{ID: hook.NewID("dlv"), EndpointID: eps[0]}, {ID: hook.NewID("dlv"), EndpointID: eps[1]},
					},
				})
			})
		}
		close(start)
		wg.Wait()
		created := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("round %d: InsertEvent %d: %v", round, i, errs[i])
			}
			if results[i].Created {
				created++
			} else if len(results[i].Deliveries) != 0 || results[i].Event.ID != id {
				t.Fatalf("round %d: replay result %+v", round, results[i])
			}
		}
		if created != 1 {
			t.Fatalf("round %d: %d inserts created the event", round, created)
		}
		page, err := a.ListDeliveries(ctx, &store.ListDeliveriesParams{AppID: appID, EventID: id})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 2 {
			t.Fatalf("round %d: %d deliveries", round, len(page.Data))
		}
	}
}

func TestClaimAcrossStores(t *testing.T) {
	dsn := newSchema(t)
	a, b := openDSN(t, dsn), openDSN(t, dsn)
	appID, eps := fixture(t, a, 7)
	ctx := context.Background()
	due := time.Now().Add(-time.Hour)
	const total = 600
	var wg sync.WaitGroup
	for i := range total {
		wg.Go(func() {
			_, err := a.InsertEvent(ctx, &store.InsertEventParams{
				Event:      &hook.Event{ID: hook.NewID("evt"), AppID: appID, Type: "a.b", Data: []byte(`1`), CreatedAt: due},
				Deliveries: []store.NewDelivery{{ID: hook.NewID("dlv"), EndpointID: eps[i%len(eps)]}},
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	var (
		mu     sync.Mutex
		seen   = map[string]string{}
		failed atomic.Bool
	)
	claimer := func(s *Store, owner string) {
		for !failed.Load() {
			now := time.Now()
			c, err := s.ClaimDeliveries(ctx, &store.ClaimDeliveriesParams{Owner: owner, Now: now,
				LeaseUntil: now.Add(time.Hour), Limit: 13, PerEndpoint: 3})
			if err != nil {
				t.Error(err)
				failed.Store(true)
				return
			}
			if len(c.Jobs) == 0 {
				n, err := s.CountPendingDeliveries(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				done := int64(len(seen)) >= n
				mu.Unlock()
				if done {
					return
				}
				continue
			}
			mu.Lock()
			for _, j := range c.Jobs {
				if prev, ok := seen[j.DeliveryID]; ok {
					t.Errorf("delivery %s claimed by %s and by %s", j.DeliveryID, prev, owner)
					failed.Store(true)
				}
				seen[j.DeliveryID] = owner
			}
			mu.Unlock()
		}
	}
	for i := range 3 {
		wg.Go(func() { claimer(a, "a"+string(rune('0'+i))) })
		wg.Go(func() { claimer(b, "b"+string(rune('0'+i))) })
	}
	wg.Wait()
	if len(seen) != total {
		t.Fatalf("claimed %d of %d", len(seen), total)
	}
	byOwner := map[byte]int{}
	for _, o := range seen {
		byOwner[o[0]]++
	}
	t.Logf("claimed by store: a %d, b %d", byOwner['a'], byOwner['b'])
}

// TestGroupCommitIsolatesFailures runs a batch in which one insert fails:
// the others still commit, and the failing one gets its own error.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	s := openTemp(t)
	appID, eps := fixture(t, s, 1)
	ctx := context.Background()
	const n = 64
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			ep := eps[0]
			if i == n/2 {
				ep = hook.NewID("ep") // unknown
			}
			_, errs[i] = s.InsertEvent(ctx, &store.InsertEventParams{
				Event:      &hook.Event{ID: hook.NewID("evt"), AppID: appID, Type: "a.b", Data: []byte(`{}`), CreatedAt: time.Now()},
				Deliveries: []store.NewDelivery{{ID: hook.NewID("dlv"), EndpointID: ep}},
			})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if i == n/2 {
			if hook.ErrorCode(err) != hook.ENotFound {
				t.Fatalf("insert with an unknown endpoint: got %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
	}
	if c, _ := s.CountPendingDeliveries(ctx); c != n-1 {
		t.Fatalf("pending %d, want %d", c, n-1)
	}
	t.Logf("batches %d, ops %d, retried %d", s.nBatches.Load(), s.nOps.Load(), s.nRetries.Load())
}

// waker counts wake calls and signals each on a channel.
type waker struct {
	n  atomic.Int64
	ch chan struct{}
}

func newWaker() *waker { return &waker{ch: make(chan struct{}, 1000)} }

func (w *waker) wake() {
	w.n.Add(1)
	w.ch <- struct{}{}
}

// wait waits for one wake, generously.
func (w *waker) wait(t *testing.T, what string) {
	t.Helper()
	select {
	case <-w.ch:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: not woken", what)
	}
}

func TestListenDue(t *testing.T) {
	dsn := newDatabase(t)
	a, b := openDSN(t, dsn), openDSN(t, dsn)
	appID, eps := fixture(t, a, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	w := newWaker()
	done := make(chan error, 1)
	go func() { done <- b.ListenDue(ctx, "B", w.wake) }()

	insert := func(s *Store, owner string, claimed bool) {
		t.Helper()
		now := time.Now()
		_, err := s.InsertEvent(ctx, &store.InsertEventParams{
			Event:      &hook.Event{ID: hook.NewID("evt"), AppID: appID, Type: "a.b", Data: []byte(`{}`), CreatedAt: now},
			Deliveries: []store.NewDelivery{{ID: hook.NewID("dlv"), EndpointID: eps[0], Claimed: claimed}},
			Owner:      owner, LeaseUntil: now.Add(time.Minute),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// B listens once its connection is known (listenPID is set after
	// LISTEN has run).
	waitListening := func(not uint32) uint32 {
		t.Helper()
		for i := 0; ; i++ {
			if p := b.listenPID.Load(); p != 0 && p != not {
				return p
			}
			if i > 3000 {
				t.Fatal("ListenDue does not listen")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitListening(0)
	insert(a, "A", false)
	w.wait(t, "A's first insert")
	if got := w.n.Load(); got != 1 {
		t.Fatalf("wakes: %d, want 1", got)
	}

	// Signals come in commit order on one connection: B's own (and a
	// claimed insert, which signals nothing) come before A's, so when
	// A's wakes B, exactly one wake has happened.
	n0 := w.n.Load()
	insert(b, "B", false)
	insert(a, "B", false) // the payload is the op's owner, whichever store sends it
	insert(a, "A", true)
	insert(a, "A", false)
	w.wait(t, "A's insert")
	if got := w.n.Load() - n0; got != 1 {
		t.Fatalf("wakes: %d, want 1 (B's own signals must not wake it)", got)
	}

	// Other signalling writes wake B too.
	if err := a.ReleaseDeliveries(ctx, &store.ReleaseDeliveriesParams{Owner: "A", Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	page, err := a.ListDeliveries(ctx, &store.ListDeliveriesParams{AppID: appID, ListParams: store.ListParams{Limit: 1}})
	if err != nil {
		t.Fatal(err)
	}
	w.wait(t, "A's release")
	if _, err := a.RetryDelivery(ctx, &store.RetryDeliveryParams{AppID: appID, DeliveryID: page.Data[0].ID, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	w.wait(t, "a retry")

	// Disabling an endpoint signals nothing; enabling it does.
	n0 = w.n.Load()
	yes, no := true, false
	if _, err := a.UpdateEndpoint(ctx, &store.UpdateEndpointParams{AppID: appID, EndpointID: eps[0], Disabled: &yes, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.UpdateEndpoint(ctx, &store.UpdateEndpointParams{AppID: appID, EndpointID: eps[0], Disabled: &no, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	w.wait(t, "enabling an endpoint")
	if got := w.n.Load() - n0; got != 1 {
		t.Fatalf("wakes: %d, want 1 (disabling signals nothing)", got)
	}

	// A failed delivery recovered; leases all released.
	now := time.Now()
	res, err := a.InsertEvent(ctx, &store.InsertEventParams{
		Event:      &hook.Event{ID: hook.NewID("evt"), AppID: appID, Type: "a.b", Data: []byte(`{}`), CreatedAt: now},
		Deliveries: []store.NewDelivery{{ID: hook.NewID("dlv"), EndpointID: eps[0], Claimed: true}},
		Owner:      "A", LeaseUntil: now.Add(time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.RecordAttempt(ctx, &store.RecordAttemptParams{Owner: "A",
		Attempt: &hook.Attempt{ID: hook.NewID("att"), DeliveryID: res.Deliveries[0].ID, Number: 1,
			Trigger: hook.TriggerScheduled, StartedAt: now, ResponseStatus: 500},
		ScheduledAttempts: 8, Decision: hook.Decision{Status: hook.DeliveryFailed}, Now: now}); err != nil {
		t.Fatal(err)
	}
	if n, err := a.RecoverEndpoint(ctx, &store.RecoverEndpointParams{AppID: appID, EndpointID: eps[0], Now: now}); err != nil || n != 1 {
		t.Fatalf("RecoverEndpoint: %d, %v", n, err)
	}
	w.wait(t, "RecoverEndpoint")
	insert(a, "A", true)
	if _, err := a.ReleaseAllLeases(ctx); err != nil {
		t.Fatal(err)
	}
	w.wait(t, "ReleaseAllLeases")

	// The connection is killed: B reconnects, wakes, and listens again.
	pid := b.listenPID.Load()
	if pid == 0 {
		t.Fatal("no listen connection")
	}
	var killed bool
	if err := a.pool.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, int32(pid)).Scan(&killed); err != nil || !killed {
		t.Fatalf("pg_terminate_backend: %v %v", killed, err)
	}
	w.wait(t, "reconnection")
	waitListening(pid)
	n0 = w.n.Load()
	insert(a, "B", false)
	insert(a, "A", false)
	w.wait(t, "A's insert after the reconnection")
	if got := w.n.Load() - n0; got != 1 {
		t.Fatalf("wakes after the reconnection: %d, want 1", got)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ListenDue returned %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ListenDue did not return after its context ended")
	}
}

func TestListenDueStopsOnClose(t *testing.T) {
	s := openDSN(t, newDatabase(t))
	done := make(chan error, 1)
	go func() { done <- s.ListenDue(context.Background(), "x", func() {}) }()
	for i := 0; s.listenPID.Load() == 0; i++ {
		if i > 300 {
			t.Fatal("no listen connection")
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = s.Close()
	select {
	case err := <-done:
		if err != ErrClosed {
			t.Fatalf("ListenDue after Close: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ListenDue did not return after Close")
	}
}

// TestGroupRecordAttempts records, at once, for each of many leased
// deliveries an attempt by its holder and one by a stale owner (in either
// order), an attempt for a deleted delivery, and one with a taken id: the
// holder's decides, every attempt is kept, and only the duplicate fails.
func TestGroupRecordAttempts(t *testing.T) {
	s := openTemp(t)
	appID, eps := fixture(t, s, 3)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	const n = 40
	ids := make([]string, n)
	for i := range n {
		res, err := s.InsertEvent(ctx, &store.InsertEventParams{
			Event:      &hook.Event{ID: hook.NewID("evt"), AppID: appID, Type: "a.b", Data: []byte(`{}`), CreatedAt: now},
			Deliveries: []store.NewDelivery{{ID: hook.NewID("dlv"), EndpointID: eps[i%len(eps)], Claimed: true}},
			Owner:      "w", LeaseUntil: now.Add(time.Hour),
		})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = res.Deliveries[0].ID
	}
	dupID := hook.NewID("att")
	record := func(owner, dlv, attID string, status string, disable bool) error {
		return s.RecordAttempt(ctx, &store.RecordAttemptParams{
			Owner: owner,
			Attempt: &hook.Attempt{ID: attID, DeliveryID: dlv, Number: 1, Trigger: hook.TriggerScheduled,
				StartedAt: now, Duration: time.Millisecond, ResponseStatus: 200},
			ScheduledAttempts: 1, Decision: hook.Decision{Status: status, DisableEndpoint: disable},
			EndpointID: eps[2], Now: now,
		})
	}
	extra, err := s.InsertEvent(ctx, &store.InsertEventParams{
		Event:      &hook.Event{ID: hook.NewID("evt"), AppID: appID, Type: "a.b", Data: []byte(`{}`), CreatedAt: now},
		Deliveries: []store.NewDelivery{{ID: hook.NewID("dlv"), EndpointID: eps[0]}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := record("nobody", extra.Deliveries[0].ID, dupID, hook.DeliverySucceeded, false); err != nil {
		t.Fatalf("record: %v", err)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, 2*n+2)
	for i, id := range ids {
		wg.Go(func() { <-start; errs[2*i] = record("w", id, hook.NewID("att"), hook.DeliverySucceeded, false) })
		wg.Go(func() { <-start; errs[2*i+1] = record("stale", id, hook.NewID("att"), hook.DeliveryFailed, true) })
	}
	wg.Go(func() {
		<-start
		errs[2*n] = record("w", hook.NewID("dlv"), hook.NewID("att"), hook.DeliveryFailed, true)
	})
	wg.Go(func() { <-start; errs[2*n+1] = record("w", ids[0], dupID, hook.DeliveryFailed, false) })
	close(start)
	wg.Wait()
	for i, err := range errs {
		if i == 2*n+1 {
			if hook.ErrorCode(err) != hook.EConflict {
				t.Fatalf("record with a taken attempt id: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	for _, id := range ids {
		d, err := s.GetDelivery(ctx, appID, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != hook.DeliverySucceeded || len(d.Attempts) != 2 {
			t.Fatalf("delivery %s: %s with %d attempts, want succeeded with 2", id, d.Status, len(d.Attempts))
		}
	}
	ep, err := s.GetEndpoint(ctx, appID, eps[2])
	if err != nil {
		t.Fatal(err)
	}
	if !ep.Disabled {
		t.Fatal("the stale records (whose deliveries exist) asked to disable the endpoint: it is enabled")
	}
	t.Logf("batches %d, ops %d, retried %d", s.nBatches.Load(), s.nOps.Load(), s.nRetries.Load())
}

// TestText: PostgreSQL text takes no NUL byte nor invalid UTF-8. A
// receiver's answer is stored cleaned; an input text is EInvalid.
func TestText(t *testing.T) {
	s := openTemp(t)
	appID, eps := fixture(t, s, 1)
	ctx := context.Background()
	now := time.Now()
	res, err := s.InsertEvent(ctx, &store.InsertEventParams{
		Event:      &hook.Event{ID: hook.NewID("evt"), AppID: appID, Type: "a.b", Data: []byte(`{"s":"\u0000"}`), CreatedAt: now},
		Deliveries: []store.NewDelivery{{ID: hook.NewID("dlv"), EndpointID: eps[0], Claimed: true}},
		Owner:      "w", LeaseUntil: now.Add(time.Minute),
	})
	if err != nil {
		t.Fatalf("event data with an escaped NUL: %v", err)
	}
	body := "bin\x00ary \xff" + string([]byte("é")[:1])
	err = s.RecordAttempt(ctx, &store.RecordAttemptParams{Owner: "w",
		Attempt: &hook.Attempt{ID: hook.NewID("att"), DeliveryID: res.Deliveries[0].ID, Number: 1,
			Trigger: hook.TriggerScheduled, StartedAt: now, ResponseStatus: 200, ResponseBody: body, Error: "x\x00"},
		ScheduledAttempts: 1, Decision: hook.Decision{Status: hook.DeliverySucceeded}, Now: now})
	if err != nil {
		t.Fatalf("RecordAttempt with a binary body: %v", err)
	}
	d, err := s.GetDelivery(ctx, appID, res.Deliveries[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	// A run of bad bytes becomes one U+FFFD.
	if got := d.Attempts[0].ResponseBody; got != "bin\uFFFDary \uFFFD" {
		t.Fatalf("stored body %q", got)
	}
	_, err = s.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "nul\x00", Now: now})
	if hook.ErrorCode(err) != hook.EInvalid {
		t.Fatalf("CreateApp with a NUL in its name: %v", err)
	}
	_, err = s.InsertEvent(ctx, &store.InsertEventParams{
		Event: &hook.Event{ID: hook.NewID("evt"), AppID: appID, Type: "a.b", Data: []byte(`{"s":`), CreatedAt: now}})
	if hook.ErrorCode(err) != hook.EInvalid {
		t.Fatalf("InsertEvent with invalid JSON: %v", err)
	}
}

// migratorAt opens a migrator on the schema of dsn and applies the
// migrations up to version (none when version is 0). The test's cleanup
// closes it; a test may close it sooner.
func migratorAt(t *testing.T, dsn string, version int64) *migrator {
	t.Helper()
	cfg, err := parseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	m, err := newMigrator(context.Background(), cfg.ConnConfig, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.close)
	if version > 0 {
		if _, err := m.p.UpTo(context.Background(), version); err != nil {
			t.Fatal(err)
		}
	}
	return m
}
