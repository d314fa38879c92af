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
		OpenClocked: func(t *testing.T, db string, clock clockwork.Clock) (store.Store, error) {
			return Open(context.Background(), db, &Options{Clock: clock})
		},
		Writes: func(s store.Store) (int64, int64) {
			return s.(*Store).nRollupFlushes.Load(), s.(*Store).nRollupRows.Load()
		},
		Stored: rawSucceeded,
	})
}

// openClocked opens a store whose rollup interval runs on a fake clock
// that never advances: the rollups are written only by batches that
// find the interval over, reads and Close.
func openClocked(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "hookd.db"), &Options{Clock: clockwork.NewFakeClock()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// rawSucceeded reads the endpoint's rollup rows as stored, beside the
// store (so without flushing it).
func rawSucceeded(t *testing.T, path, epID string) int64 {
	t.Helper()
	var n int64
	withDB(t, path, func(db *sql.DB) error {
		return db.QueryRow(`SELECT COALESCE(SUM(succeeded), 0) FROM delivery_rollups WHERE endpoint_id = ?`, epID).Scan(&n)
	})
	return n
}

// TestRollupsSavepointRerun puts RecordAttempts in a batch in which one
// operation fails: the batch runs first without savepoints, is rolled
// back, and runs again with them. Each attempt is counted once.
func TestRollupsSavepointRerun(t *testing.T) {
	s := openClocked(t)
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
