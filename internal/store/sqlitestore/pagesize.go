package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// createFile makes a new database file at path, in WAL mode with pageSize
// (a power of two from 512 to 65536), if there is none or it is empty; an existing database
// keeps its own page size. The page size must be set before anything
// materialises the file's first page, and the driver applies DSN pragmas in
// lexical order (journal_mode before page_size), hence this step.
func createFile(ctx context.Context, path string, pageSize int) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("sqlitestore: %w", err)
	case fi.Size() > 0:
		return nil
	}
	db, err := sql.Open("sqlite", dsn(path, "_pragma=busy_timeout(10000)"))
	if err != nil {
		return fmt.Errorf("sqlitestore: create %s: %w", path, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, fmt.Sprintf("PRAGMA page_size = %d", pageSize)); err != nil {
		return fmt.Errorf("sqlitestore: create %s: %w", path, err)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA journal_mode = WAL"); err != nil {
		return fmt.Errorf("sqlitestore: create %s: %w", path, err)
	}
	return nil
}

// DefaultPageSize is the page size of a new database file (Options.PageSize).
//
// SQLite writes whole pages: a commit appends to the WAL every page it
// dirtied, and each B-tree a commit touches (a table or an index) dirties at
// least one leaf, whatever the size of the rows. A delivery's commit touches
// about 25 B-trees, so the page size, not the rows, sets most of what hookd
// writes per delivery: 1 KiB pages write less than half of what 4 KiB pages
// (SQLite's default) do, at no measured cost in CPU, also for 64 KiB events
// (see BENCHMARKS.md, issue 18).
const DefaultPageSize = 1024

// autoCheckpointBytes is how large the WAL grows before a commit copies it
// into the database file: SQLite's default (1,000 pages) at its default
// page size of 4 KiB. A checkpoint copies each page the WAL holds once, so
// a page rewritten by many commits (a B-tree's right edge) is copied once
// per checkpoint; counting in pages instead would checkpoint a 1 KiB-page
// file four times as often.
const autoCheckpointBytes = 4000 * 1024

// writerCachePages is the writer connection's page cache, in pages: 32 MB
// of 4 KiB pages, 8 MB of 1 KiB ones. At every commit SQLite truncates its
// page cache to the database's size, and with 1 KiB pages that scans the
// cache's whole hash table (7% of hookd's CPU at max throughput with
// 32,000 pages of 1 KiB, 1.5% with 8,000): a cache counted in pages keeps
// that scan as cheap as with 4 KiB pages, and the writer only needs the
// B-trees' right edges and the claim indexes in it.
const writerCachePages = 8000

// tuneWriter sets the writer connection's wal_autocheckpoint to
// autoCheckpointBytes in the file's own pages, and its cache to
// writerCachePages.
func tuneWriter(ctx context.Context, db *sql.DB) error {
	var ps int
	if err := db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&ps); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", autoCheckpointBytes/max(ps, 512))); err != nil {
		return err
	}
	_, err := db.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = %d", writerCachePages))
	return err
}

// SetPageSize rewrites the database file at path with pages of size bytes
// (a power of two from 512 to 65536), as `hookd migrate page-size` does, and
// returns the page size it had. It takes the file lock, so it fails while
// hookd runs on the file. The rewrite is a VACUUM: it needs as much free
// disk as the database, and it leaves the file in WAL mode as before.
func SetPageSize(ctx context.Context, path string, size int) (was int, err error) {
	if size < 512 || size > 65536 || size&(size-1) != 0 {
		return 0, fmt.Errorf("sqlitestore: page size %d is not a power of two from 512 to 65536", size)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: %w", err)
	}
	if _, err := os.Stat(abs); err != nil {
		return 0, fmt.Errorf("sqlitestore: %w", err)
	}
	lock, err := lockFile(abs)
	if err != nil {
		return 0, err
	}
	defer func() { _ = unlockFile(lock) }()
	db, err := sql.Open("sqlite", dsn(abs, "_pragma=busy_timeout(10000)"))
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: open %s: %w", abs, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // the pragmas below hold for one connection
	if err := db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&was); err != nil {
		return 0, fmt.Errorf("sqlitestore: read %s: %w", abs, err)
	}
	if was == size {
		return was, nil
	}
	// A WAL database keeps its page size; out of WAL mode, VACUUM applies
	// the new one.
	for _, q := range []string{"PRAGMA journal_mode = DELETE", fmt.Sprintf("PRAGMA page_size = %d", size), "VACUUM", "PRAGMA journal_mode = WAL"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			// A VACUUM that fails (e.g. for want of disk) leaves the
			// file as it was; put it back in WAL mode too.
			_, _ = db.ExecContext(context.WithoutCancel(ctx), "PRAGMA journal_mode = WAL")
			return was, fmt.Errorf("sqlitestore: %s on %s: %w", q, abs, err)
		}
	}
	return was, nil
}
