package sqlitestore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// gatherStore is a Store with only what gather needs.
func gatherStore(maxBatch int, gap time.Duration) *Store {
	return &Store{ops: make(chan *writeOp, 16), maxBatch: maxBatch, gatherGap: gap, gatherMax: time.Hour, quit: make(chan struct{})}
}

// gatherWithin runs gather and fails the test if it has not returned
// within a generous bound (it would otherwise hang the test).
func gatherWithin(t *testing.T, s *Store, batch []*writeOp, prev int) []*writeOp {
	t.Helper()
	out := make(chan []*writeOp, 1)
	go func() { out <- s.gather(batch, prev) }()
	select {
	case b := <-out:
		return b
	case <-time.After(10 * time.Second):
		close(s.quit)
		t.Fatal("gather waited: a lone write after a lone write must not")
		return nil
	}
}

func TestGatherDoesNotDelayALoneWrite(t *testing.T) {
	t.Parallel()
	s := gatherStore(8, time.Hour) // a gap that would hang the test
	b := gatherWithin(t, s, []*writeOp{{}}, 1)
	if len(b) != 1 {
		t.Fatalf("batch of %d, want 1", len(b))
	}
}

func TestGatherWaitsForMoreUnderLoad(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		first, prev int
	}{{"previous batch had two", 1, 2}, {"this batch has two", 2, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := gatherStore(4, time.Hour)
			waiting := make(chan struct{})
			s.gatherWaits = func() { close(waiting) }
			batch := make([]*writeOp, 0, 4)
			for range tc.first {
				batch = append(batch, &writeOp{})
			}
			out := make(chan []*writeOp, 1)
			go func() { out <- s.gather(batch, tc.prev) }()
			select {
			case <-waiting:
			case b := <-out:
				t.Fatalf("gather returned a batch of %d without waiting", len(b))
			}
			// Operations that come after gather started still join the
			// batch, until it is full (the gap is an hour).
			for range 4 - tc.first {
				s.ops <- &writeOp{}
			}
			select {
			case b := <-out:
				if len(b) != 4 {
					t.Fatalf("batch of %d, want 4", len(b))
				}
			case <-time.After(10 * time.Second):
				t.Fatal("gather did not return with a full batch")
			}
		})
	}
}

func TestGatherStopsAtItsGap(t *testing.T) {
	t.Parallel()
	s := gatherStore(8, time.Millisecond)
	b := gatherWithin(t, s, []*writeOp{{}, {}}, 0)
	if len(b) != 2 {
		t.Fatalf("batch of %d, want 2", len(b))
	}
}

func TestNewFilePageSize(t *testing.T) {
	t.Parallel()
	pageSize := func(path string) int {
		t.Helper()
		db, err := sql.Open("sqlite", dsn(path, "mode=ro"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRow("PRAGMA page_size").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	ctx := context.Background()
	dir := t.TempDir()

	// A new file gets the store's page size.
	fresh := filepath.Join(dir, "fresh.db")
	s, err := Open(ctx, fresh, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := pageSize(fresh); got != DefaultPageSize {
		t.Fatalf("new file: page size %d, want %d", got, DefaultPageSize)
	}

	// A file made with another page size keeps it.
	old := filepath.Join(dir, "old.db")
	s, err = Open(ctx, old, &Options{PageSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, old, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := pageSize(old); got != 4096 {
		t.Fatalf("existing file: page size %d, want 4096 kept", got)
	}

	// hookd migrate up makes new files the same way.
	migrated := filepath.Join(dir, "migrated.db")
	if _, err := MigrateUp(ctx, migrated); err != nil {
		t.Fatal(err)
	}
	if got := pageSize(migrated); got != DefaultPageSize {
		t.Fatalf("migrate up: page size %d, want %d", got, DefaultPageSize)
	}

	if _, err := Open(ctx, filepath.Join(dir, "bad.db"), &Options{PageSize: 1000}); err == nil {
		t.Fatal("page size 1000 accepted")
	}
}

func TestAutoCheckpointFollowsThePageSize(t *testing.T) {
	t.Parallel()
	for _, ps := range []int{1024, 4096} {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "a.db"), &Options{PageSize: ps})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := s.wdb.QueryRow("PRAGMA wal_autocheckpoint").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if n*ps != autoCheckpointBytes {
			t.Errorf("page size %d: wal_autocheckpoint %d pages, want %d bytes", ps, n, autoCheckpointBytes)
		}
	}
}
