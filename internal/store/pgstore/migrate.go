package pgstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"path"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/hookd/hookd/internal/store"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// versionTable is goose's table of applied migrations, created (like every
// table) in the first schema of the search_path.
const versionTable = "goose_db_version"

// MigrateUp applies the pending migrations to the database at dsn, under
// goose's PostgreSQL session lock, and returns those it applied (none if
// the schema is up to date).
func MigrateUp(ctx context.Context, dsn string) ([]store.MigrationState, error) {
	cfg, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	return migrateUp(ctx, cfg.ConnConfig, slog.New(slog.DiscardHandler))
}

// MigrationStatus returns every migration hookd knows, oldest first, and
// whether the database at dsn has it applied. It changes nothing.
func MigrationStatus(ctx context.Context, dsn string) ([]store.MigrationState, error) {
	cfg, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	return migrationStatus(ctx, cfg.ConnConfig)
}

// migrator is a goose provider on a database/sql handle of its own.
type migrator struct {
	db     *sql.DB
	p      *goose.Provider
	schema string
}

func newMigrator(ctx context.Context, cc *pgx.ConnConfig, log *slog.Logger) (*migrator, error) {
	db := stdlib.OpenDB(*cc.Copy())
	m := &migrator{db: db}
	fail := func(err error) (*migrator, error) {
		_ = db.Close()
		return nil, err
	}
	var schema sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fail(fmt.Errorf("pgstore: migrations: connect: %w", err))
	}
	if !schema.Valid {
		return fail(errors.New("pgstore: migrations: no schema to create tables in: " +
			"the schemas of the search_path do not exist (create the schema first)"))
	}
	m.schema = schema.String
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(migrationLockID(m.schema)),
		lock.WithLockTimeout(1, 600), // try every second, for 10 minutes
	)
	if err != nil {
		return fail(fmt.Errorf("pgstore: migrations: %w", err))
	}
	sub, err := fs.Sub(migrationsFS, "migrations")
	if err != nil {
		return fail(fmt.Errorf("pgstore: migrations: %w", err))
	}
	m.p, err = goose.NewProvider(goose.DialectPostgres, db, sub,
		goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true), goose.WithSlog(log))
	if err != nil {
		return fail(fmt.Errorf("pgstore: migrations: %w", err))
	}
	return m, nil
}

func (m *migrator) close() { _ = m.db.Close() }

// migrationLockID is the advisory lock id that serialises migrations of
// one schema. Advisory locks are per database; the schema's name in the
// id lets test schemas (and tenants' schemas) migrate side by side.
func migrationLockID(schema string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("hookd-migrate:" + schema))
	return int64(h.Sum64() >> 1) // positive, for readable pg_locks
}

func migrateUp(ctx context.Context, cc *pgx.ConnConfig, log *slog.Logger) ([]store.MigrationState, error) {
	m, err := newMigrator(ctx, cc, log)
	if err != nil {
		return nil, err
	}
	defer m.close()
	res, err := m.p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore: migrate schema %q: %w", m.schema, err)
	}
	out := make([]store.MigrationState, 0, len(res))
	for _, r := range res {
		out = append(out, store.MigrationState{Version: r.Source.Version, Name: path.Base(r.Source.Path), Applied: true})
	}
	if len(out) == 0 {
		return out, nil
	}
	// The times goose recorded.
	st, err := m.status(ctx)
	if err != nil {
		return nil, err
	}
	for i := range out {
		for _, s := range st {
			if s.Version == out[i].Version {
				out[i].AppliedAt = s.AppliedAt
			}
		}
	}
	return out, nil
}

func migrationStatus(ctx context.Context, cc *pgx.ConnConfig) ([]store.MigrationState, error) {
	m, err := newMigrator(ctx, cc, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	defer m.close()
	return m.status(ctx)
}

// pendingMigrations returns the migrations not yet applied.
func pendingMigrations(ctx context.Context, cc *pgx.ConnConfig) ([]store.MigrationState, error) {
	st, err := migrationStatus(ctx, cc)
	if err != nil {
		return nil, err
	}
	var pending []store.MigrationState
	for _, s := range st {
		if !s.Applied {
			pending = append(pending, s)
		}
	}
	return pending, nil
}

// status lists the known migrations. Without a version table, nothing is
// applied, and status does not create one (goose's Status would).
func (m *migrator) status(ctx context.Context) ([]store.MigrationState, error) {
	var exists bool
	if err := m.db.QueryRowContext(ctx, `SELECT to_regclass($1) IS NOT NULL`,
		pgx.Identifier{m.schema, versionTable}.Sanitize()).Scan(&exists); err != nil {
		return nil, fmt.Errorf("pgstore: migration status: %w", err)
	}
	var out []store.MigrationState
	if !exists {
		for _, src := range m.p.ListSources() {
			out = append(out, store.MigrationState{Version: src.Version, Name: path.Base(src.Path)})
		}
		return out, nil
	}
	st, err := m.p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore: migration status: %w", err)
	}
	for _, s := range st {
		ms := store.MigrationState{Version: s.Source.Version, Name: path.Base(s.Source.Path),
			Applied: s.State == goose.StateApplied}
		if ms.Applied {
			ms.AppliedAt = s.AppliedAt.UTC()
		}
		out = append(out, ms)
	}
	return out, nil
}
