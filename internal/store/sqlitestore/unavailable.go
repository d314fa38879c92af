package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hookd/hookd/internal/store"
)

// unavailableReason says whether err means that the database cannot serve
// for now, through no fault of the request (see store.ErrUnavailable), and
// why, in words a client may be shown.
func unavailableReason(err error) (string, bool) {
	if errors.Is(err, context.DeadlineExceeded) {
		return "the database did not answer in time", true
	}
	switch sqliteCode(err) & 0xff { // the primary code of an extended one
	case sqlite3.SQLITE_FULL:
		// The disk is full, or the database reached max_page_count.
		return "the database is full", true
	case sqlite3.SQLITE_IOERR:
		return "the database had an I/O error", true
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_PROTOCOL:
		// BUSY comes after busy_timeout has run out.
		return "the database is busy", true
	case sqlite3.SQLITE_CANTOPEN:
		return "the database file cannot be opened", true
	case sqlite3.SQLITE_READONLY:
		return "the database is read-only", true
	case sqlite3.SQLITE_NOMEM:
		return "the database is out of memory", true
	}
	return "", false
}

// classify wraps err as a store.UnavailableError when it means that the
// database is unavailable.
func classify(err error) error { return store.Classify(err, unavailableReason) }

// Ready checks that the store can serve: see store.Store. Its probe, run
// only after a write failed for want of the database, commits a
// transaction that needs room: it creates a table, writes probeBytes to it
// and drops it, so that it fails as long as the database cannot grow by
// that much (a full disk, max_page_count reached, a read-only file, I/O
// errors).
func (s *Store) Ready(ctx context.Context) error {
	return s.health.Check(ctx, s.Ping, s.probe)
}

// probeBytes is how much the readiness probe writes: more than most
// events with their deliveries take.
const probeBytes = 64 << 10

func (s *Store) probe(ctx context.Context) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, q := range []string{
			`CREATE TABLE readiness_probe (b BLOB)`,
			fmt.Sprintf(`INSERT INTO readiness_probe VALUES (randomblob(%d))`, probeBytes),
			`DROP TABLE readiness_probe`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return dbErr("readiness probe", err)
			}
		}
		return nil
	})
}

// SetMaxPageCount sets PRAGMA max_page_count on the write connection, the
// most pages the database file may hold (SQLite raises n to the current
// size if it is smaller), and returns the limit now in force. A write that
// needs more pages fails with SQLITE_FULL, as on a full disk. hookd itself
// never calls it: it is for tests and the fault harness, to make the disk
// full at will (n = 1) and then not (n = 1<<32 - 2, SQLite's default).
func (s *Store) SetMaxPageCount(ctx context.Context, n int64) (int64, error) {
	var got int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		got = 0
		if err := tx.QueryRowContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, n)).Scan(&got); err != nil {
			return dbErr("set max_page_count", err)
		}
		return nil
	})
	return got, err
}
