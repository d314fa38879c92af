package sqlitestore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

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
		var n, cache int
		if err := s.wdb.QueryRow("PRAGMA wal_autocheckpoint").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if err := s.wdb.QueryRow("PRAGMA cache_size").Scan(&cache); err != nil {
			t.Fatal(err)
		}
		if cache != writerCachePages {
			t.Errorf("page size %d: writer cache_size %d, want %d pages", ps, cache, writerCachePages)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if n*ps != autoCheckpointBytes {
			t.Errorf("page size %d: wal_autocheckpoint %d pages, want %d bytes", ps, n, autoCheckpointBytes)
		}
	}
}

func TestSetPageSizeRewritesTheFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := Open(ctx, path, &Options{PageSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	app, err := s.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "kept", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	// While hookd holds the file, it is refused.
	if _, err := SetPageSize(ctx, path, 1024); err == nil {
		t.Fatal("rewrote a file that hookd holds")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	was, err := SetPageSize(ctx, path, 1024)
	if err != nil || was != 4096 {
		t.Fatalf("SetPageSize: was %d, %v", was, err)
	}
	var ps int
	var mode string
	db, err := sql.Open("sqlite", dsn(path, "mode=ro"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("PRAGMA page_size").Scan(&ps); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	if ps != 1024 || mode != "wal" {
		t.Fatalf("after: page size %d, journal mode %s; want 1024, wal", ps, mode)
	}
	s, err = Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.GetApp(ctx, app.ID); err != nil || got.Name != "kept" {
		t.Fatalf("the app after the rewrite: %+v, %v", got, err)
	}
	if _, err := SetPageSize(ctx, path, 1000); err == nil {
		t.Fatal("page size 1000 accepted")
	}
}
