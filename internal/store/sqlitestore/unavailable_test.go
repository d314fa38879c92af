package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// driverErr runs stmts on a fresh connection to a new database file (dsn
// query q), and returns the error of the last one.
func driverErr(t *testing.T, q string, setup []string, stmt string) error {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := sql.Open("sqlite", dsn(path, "_pragma=journal_mode(WAL)"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range setup {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	other, err := sql.Open("sqlite", dsn(path, q))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, err = other.Exec(stmt)
	if err == nil {
		t.Fatalf("%s: no error", stmt)
	}
	return err
}

func TestUnavailableReason(t *testing.T) {
	t.Parallel()
	// busyErr holds a write lock on one connection while another, with no
	// busy timeout, asks for one.
	busyErr := func(t *testing.T) error {
		path := filepath.Join(t.TempDir(), "x.db")
		a, err := sql.Open("sqlite", dsn(path, "_pragma=journal_mode(WAL)&_txlock=immediate"))
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		tx, err := a.Begin()
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback() }()
		b, err := sql.Open("sqlite", dsn(path, "_pragma=busy_timeout(0)&_txlock=immediate"))
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		tx2, err := b.Begin()
		if err == nil {
			_ = tx2.Rollback()
			t.Fatal("second write transaction began")
		}
		return err
	}
	tests := []struct {
		name   string
		err    func(t *testing.T) error
		reason string // "" for an error that is not unavailability
	}{
		{"full: max_page_count reached", func(t *testing.T) error {
			return driverErr(t, "_pragma=max_page_count(1)", []string{"CREATE TABLE t (b BLOB)"},
				"INSERT INTO t VALUES (randomblob(100000))")
		}, "the database is full"},
		{"read-only", func(t *testing.T) error {
			return driverErr(t, "mode=ro", []string{"CREATE TABLE t (b BLOB)"}, "INSERT INTO t VALUES (1)")
		}, "the database is read-only"},
		{"cannot open", func(t *testing.T) error {
			db, err := sql.Open("sqlite", dsn(filepath.Join(t.TempDir(), "no", "such", "dir", "x.db"), ""))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			err = db.Ping()
			if err == nil {
				t.Fatal("no error")
			}
			return err
		}, "the database file cannot be opened"},
		{"busy past its timeout", busyErr, "the database is busy"},
		{"deadline", func(*testing.T) error { return fmt.Errorf("x: %w", context.DeadlineExceeded) }, "the database did not answer in time"},
		{"wrapped by dbErr", func(t *testing.T) error {
			err := dbErr("insert", driverErr(t, "_pragma=max_page_count(1)",
				[]string{"CREATE TABLE t (b BLOB)"}, "INSERT INTO t VALUES (randomblob(100000))"))
			if !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("dbErr did not classify: %v", err)
			}
			return fmt.Errorf("outer: %w", err)
		}, "the database is full"},

		{"constraint", func(t *testing.T) error {
			return driverErr(t, "", []string{"CREATE TABLE t (a INTEGER PRIMARY KEY)", "INSERT INTO t VALUES (1)"},
				"INSERT INTO t VALUES (1)")
		}, ""},
		{"syntax", func(t *testing.T) error { return driverErr(t, "", nil, "SELEC 1") }, ""},
		{"no such table", func(t *testing.T) error { return driverErr(t, "", nil, "SELECT * FROM nowhere") }, ""},
		{"cancelled", func(*testing.T) error { return context.Canceled }, ""},
		{"no rows", func(*testing.T) error { return sql.ErrNoRows }, ""},
		{"closed store", func(*testing.T) error { return ErrClosed }, ""},
		{"domain error", func(*testing.T) error { return hook.NotFound("app", "x") }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.err(t)
			reason, ok := unavailableReason(err)
			if reason != tt.reason || ok != (tt.reason != "") {
				t.Fatalf("unavailableReason(%v) = %q, %v; want %q", err, reason, ok, tt.reason)
			}
			c := classify(err)
			if got := errors.Is(c, store.ErrUnavailable); got != ok {
				t.Fatalf("classify(%v) wraps ErrUnavailable: %v, want %v", err, got, ok)
			}
			if !errors.Is(c, err) {
				t.Fatalf("classify(%v) = %v lost the error", err, c)
			}
		})
	}
}

// bigEvent is an event of n bytes of data, for filling the database.
func bigEvent(appID string, n int) *store.InsertEventParams {
	return &store.InsertEventParams{Event: &hook.Event{
		ID: hook.NewID("evt"), AppID: appID, Type: "a.b", CreatedAt: time.Now(),
		Data: []byte(`{"pad":"` + strings.Repeat("x", n) + `"}`),
	}}
}

// TestFullDiskUnavailable fills the database (max_page_count at its size)
// and checks that writes fail as unavailable, that Ready says so while
// they do (even after a write that needs no room succeeds), and that Ready
// recovers once there is room again.
func TestFullDiskUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTemp(t)
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready on a new store: %v", err)
	}
	app, err := s.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "a", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetMaxPageCount(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// Events of 4 KiB, each a page or two: the first that does not
	// fit fails, once what the file holds free is used up.
	var werr error
	for i := 0; i < 200 && werr == nil; i++ {
		_, werr = s.InsertEvent(ctx, bigEvent(app.ID, 4<<10))
	}
	ue, ok := store.AsUnavailable(werr)
	if !ok || ue.Reason != "the database is full" {
		t.Fatalf("InsertEvent on a full database: %v, want unavailable: the database is full", werr)
	}
	if err := s.Ready(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ready after a failed write: %v, want ErrUnavailable", err)
	}
	// A write in place (no new page) still works, and changes nothing.
	if _, err := s.UpdateApp(ctx, &store.UpdateAppParams{AppID: app.ID, Name: ptr("b"), Now: time.Now()}); err != nil {
		t.Fatalf("UpdateApp in place on a full database: %v", err)
	}
	if err := s.Ready(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ready after an in-place write: %v, want ErrUnavailable", err)
	}
	// Reads are served all along.
	if _, err := s.GetApp(ctx, app.ID); err != nil {
		t.Fatalf("GetApp on a full database: %v", err)
	}

	if _, err := s.SetMaxPageCount(ctx, 1<<32-2); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready once there is room: %v", err)
	}
	if _, err := s.InsertEvent(ctx, bigEvent(app.ID, 4<<10)); err != nil {
		t.Fatalf("InsertEvent once there is room: %v", err)
	}
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready after a good write: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
