package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookd/hookd/internal/store"
)

// unavailableReason says whether err means that the database cannot serve
// for now, through no fault of the request (see store.ErrUnavailable), and
// why, in words a client may be shown.
//
// Serialization failures and deadlocks (40001, 40P01) are not: they are
// conflicts between transactions, which tx and runAlone run again.
func unavailableReason(err error) (string, bool) {
	if errors.Is(err, context.Canceled) {
		return "", false // the caller went away: nothing is wrong with the database
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return sqlStateReason(pe.Code)
	}
	var ce *pgconn.ConnectError
	switch {
	case errors.As(err, &ce):
		return "the database is not reachable", true
	case errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err):
		// Also a pool whose connections are all busy past the
		// caller's deadline.
		return "the database did not answer in time", true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, net.ErrClosed):
		return "the connection to the database was lost", true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return "the connection to the database failed", true
	}
	return "", false
}

// sqlStateReason classifies a PostgreSQL error code (SQLSTATE).
func sqlStateReason(code string) (string, bool) {
	switch {
	case strings.HasPrefix(code, "08"): // connection exception
		return "the connection to the database failed", true
	case code == "53100": // disk_full
		return "the database's disk is full", true
	case code == "53200": // out_of_memory
		return "the database is out of memory", true
	case code == "53300": // too_many_connections
		return "the database has too many connections", true
	case strings.HasPrefix(code, "53"): // insufficient resources
		return "the database is out of resources", true
	case code == "57P01", code == "57P02": // admin_shutdown, crash_shutdown
		return "the database is shutting down", true
	case code == "57P03": // cannot_connect_now
		return "the database is not accepting connections yet", true
	case code == "25006": // read_only_sql_transaction
		return "the database is read-only", true
	case code == "58000", code == "58030": // system_error, io_error
		return "the database had an I/O error", true
	}
	return "", false
}

// classify wraps err as a store.UnavailableError when it means that the
// database is unavailable.
func classify(err error) error { return store.Classify(err, unavailableReason) }

// Ready checks that the store can serve: see store.Store. It pings the
// database; after a write failed for want of the database, it also runs a
// probe: a transaction that creates a temporary table, writes probeBytes to
// it and commits (dropping it), which needs the database to take writes.
func (s *Store) Ready(ctx context.Context) error {
	if s.isClosed() {
		return ErrClosed
	}
	return s.health.Check(ctx, s.Ping, s.probe)
}

// probeBytes is how much the readiness probe writes.
const probeBytes = 64 << 10

func (s *Store) probe(ctx context.Context) error {
	return s.tx(ctx, "readiness probe", func(tx pgx.Tx) error {
		for _, q := range []string{
			`CREATE TEMPORARY TABLE hookd_readiness_probe (b bytea) ON COMMIT DROP`,
			fmt.Sprintf(`INSERT INTO hookd_readiness_probe SELECT decode(repeat('00', %d), 'hex')`, probeBytes),
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return dbErr("readiness probe", err)
			}
		}
		return nil
	})
}
