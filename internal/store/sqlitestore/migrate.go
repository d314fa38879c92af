package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/pressly/goose/v3"

	"github.com/hookd/hookd/internal/store"
)

// newProvider returns goose's migration provider for db.
func newProvider(db *sql.DB, log *slog.Logger) (*goose.Provider, error) {
	sub, err := fs.Sub(migrationsFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub,
		goose.WithDisableGlobalRegistry(true), goose.WithSlog(log))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: migrations: %w", err)
	}
	return p, nil
}

// checkCurrent fails when migrations are pending.
func checkCurrent(ctx context.Context, p *goose.Provider, path string) error {
	pending, err := p.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("sqlitestore: migrations of %s: %w", path, err)
	}
	if pending {
		return fmt.Errorf("sqlitestore: %s has migrations pending and migrating at start is off: run `hookd migrate up --db %s`", path, path)
	}
	return nil
}

// MigrateUp applies the pending migrations to the database file at path
// (creating it if needed) and returns those it applied. It takes the file
// lock, so it fails while hookd runs on the file (hookd has applied them at
// start).
func MigrateUp(ctx context.Context, path string) ([]store.MigrationState, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	lock, err := lockFile(abs)
	if err != nil {
		return nil, err
	}
	defer func() { _ = unlockFile(lock) }()
	if err := createFile(ctx, abs, DefaultPageSize); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn(abs, "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", abs, err)
	}
	defer db.Close()
	p, err := newProvider(db, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: migrate %s: %w", abs, err)
	}
	out := make([]store.MigrationState, 0, len(res))
	for _, r := range res {
		out = append(out, store.MigrationState{Version: r.Source.Version, Name: filepath.Base(r.Source.Path), Applied: true})
	}
	return out, nil
}

// MigrationStatus lists every migration and whether the database file at
// path has it. A file that does not exist has none, and is not created.
func MigrationStatus(ctx context.Context, path string) ([]store.MigrationState, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	exists := true
	if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
		exists = false
	} else if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	var db *sql.DB
	if exists {
		db, err = sql.Open("sqlite", dsn(abs, "_pragma=busy_timeout(10000)&mode=ro"))
	} else {
		db, err = sql.Open("sqlite", ":memory:")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", abs, err)
	}
	defer db.Close()
	p, err := newProvider(db, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	if exists {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'goose_db_version'`).Scan(&n); err != nil {
			return nil, fmt.Errorf("sqlitestore: read %s: %w", abs, err)
		}
		exists = n > 0
	}
	var out []store.MigrationState
	if !exists {
		for _, src := range p.ListSources() {
			out = append(out, store.MigrationState{Version: src.Version, Name: filepath.Base(src.Path)})
		}
		return out, nil
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: migration status of %s: %w", abs, err)
	}
	for _, m := range st {
		out = append(out, store.MigrationState{
			Version: m.Source.Version, Name: filepath.Base(m.Source.Path),
			Applied: m.State == goose.StateApplied, AppliedAt: m.AppliedAt,
		})
	}
	return out, nil
}
