package sqlitestore

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/storetest"
)

func TestRollups(t *testing.T) {
	storetest.RunRollups(t, storetest.RollupsBackend{
		NewDB: func(t *testing.T) string { return filepath.Join(t.TempDir(), "hookd.db") },
		Open: func(t *testing.T, db string) (store.Store, error) {
			return Open(context.Background(), db, &Options{RollupInterval: time.Hour})
		},
	})
}

// openClocked opens a store whose rollup interval runs on a fake clock.
func openClocked(t *testing.T) (*Store, *clockwork.FakeClock) {
	t.Helper()
	clock := clockwork.NewFakeClock()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "hookd.db"), &Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, clock
}

// rawSucceeded reads the endpoint's rollup rows as stored, beside the
// store (so without flushing it).
func rawSucceeded(t *testing.T, s *Store, epID string) int64 {
	t.Helper()
	var n int64
	withDB(t, s.path, func(db *sql.DB) error {
		return db.QueryRow(`SELECT COALESCE(SUM(succeeded), 0) FROM delivery_rollups WHERE endpoint_id = ?`, epID).Scan(&n)
	})
	return n
}

// TestRollupWritesPerInterval records first-try successes one commit
// each, a quarter interval apart: the rollups are written once per
// interval, not once per commit, and read back exactly.
func TestRollupWritesPerInterval(t *testing.T) {
	s, clock := openClocked(t)
	ctx := context.Background()
	const n = 40
	at := time.Now().UTC().Truncate(time.Minute)
	appID, epID, ids := storetest.RollupFixture(t, s, n, at)
	flushes0, rows0 := s.nRollupFlushes.Load(), s.nRollupRows.Load()
	start := clock.Now()
	for i, id := range ids {
		if err := storetest.RecordSuccess(ctx, s, id, "", at.Add(time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		clock.Advance(store.DefaultRollupInterval / 4)
	}
	flushes, rows := s.nRollupFlushes.Load()-flushes0, s.nRollupRows.Load()-rows0
	intervals := int64((clock.Since(start) + store.DefaultRollupInterval - 1) / store.DefaultRollupInterval)
	t.Logf("%d commits, %d intervals: %d rollup writes, %d rows", n, intervals, flushes, rows)
	if flushes > intervals+1 || flushes == 0 {
		t.Fatalf("%d rollup writes for %d commits over %d intervals: want 1 to %d", flushes, n, intervals, intervals+1)
	}
	if rows > 2*flushes { // one endpoint row and one app row each
		t.Fatalf("%d rollup rows in %d writes: want at most %d", rows, flushes, 2*flushes)
	}
	if got := storetest.SucceededAround(t, s, appID, epID, at); got != n {
		t.Fatalf("succeeded: got %d, want %d", got, n)
	}
}

// TestRollupsFlushedByTimer: with no batch to carry them, the pending
// rollups are written once the interval has run out.
func TestRollupsFlushedByTimer(t *testing.T) {
	s, clock := openClocked(t)
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Minute)
	_, epID, ids := storetest.RollupFixture(t, s, 1, at)
	if err := storetest.RecordSuccess(ctx, s, ids[0], "", at); err != nil {
		t.Fatal(err)
	}
	if got := rawSucceeded(t, s, epID); got != 0 {
		t.Fatalf("stored before the interval: %d", got)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := clock.BlockUntilContext(waitCtx, 1); err != nil { // the writer's timer
		t.Fatal(err)
	}
	clock.Advance(store.DefaultRollupInterval)
	for s.rollups.Len() > 0 || rawSucceeded(t, s, epID) == 0 {
		if waitCtx.Err() != nil {
			t.Fatal("the rollups were not written once the interval ran out")
		}
		time.Sleep(time.Millisecond)
	}
	if got := rawSucceeded(t, s, epID); got != 1 {
		t.Fatalf("stored: %d, want 1", got)
	}
}

// TestRollupsSavepointRerun puts RecordAttempts in a batch in which one
// operation fails: the batch runs first without savepoints, is rolled
// back, and runs again with them. Each attempt is counted once.
func TestRollupsSavepointRerun(t *testing.T) {
	s, _ := openClocked(t)
	ctx := context.Background()
	const n = 10
	at := time.Now().UTC().Truncate(time.Minute)
	appID, epID, ids := storetest.RollupFixture(t, s, n, at)
	if _, err := s.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), UID: "taken", Name: "b", Now: at}); err != nil {
		t.Fatal(err)
	}
	// Hold the writer so that the next operations queue up.
	release, running := make(chan struct{}), make(chan struct{})
	go func() {
		_ = s.write(ctx, func(context.Context, *sql.Tx) error { close(running); <-release; return nil })
	}()
	<-running
	retries0 := s.nRetries.Load()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, id := range ids {
		wg.Go(func() { errs[i] = storetest.RecordSuccess(ctx, s, id, "", at.Add(time.Duration(i)*time.Millisecond)) })
	}
	// The failing operation last, so that the attempts run before it in
	// the optimistic run.
	for len(s.ops) < n {
		time.Sleep(time.Millisecond)
	}
	var dupErr error
	wg.Go(func() {
		_, dupErr = s.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), UID: "taken", Name: "c", Now: at})
	})
	for len(s.ops) < n+1 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if hook.ErrorCode(dupErr) != hook.EConflict {
		t.Fatalf("duplicate uid: %v", dupErr)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if got := s.nRetries.Load() - retries0; got != 1 {
		t.Fatalf("%d batches run again with savepoints, want 1", got)
	}
	if got := storetest.SucceededAround(t, s, appID, epID, at); got != n {
		t.Fatalf("succeeded: got %d, want %d", got, n)
	}
}
