package sqlitestore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// TestMigrationIndexDiet: migration 00018 drops deliveries_lease from a
// database in use, whose leases ReleaseAllLeases then takes back without
// it, and its Down puts the index back.
func TestMigrationIndexDiet(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	db, _ := migrationsAt(t, path, 17)
	hasLeaseIndex := func(db *sql.DB) bool {
		t.Helper()
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'deliveries_lease'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	if !hasLeaseIndex(db) {
		t.Fatal("deliveries_lease missing before 00018")
	}
	for _, q := range []string{
		`INSERT INTO apps (id, name, created_at, updated_at) VALUES ('app_1', 'a', 0, 0)`,
		`INSERT INTO endpoints (id, app_id, url, secret, created_at, updated_at) VALUES ('ep_1', 'app_1', 'https://example.com', 's', 0, 0)`,
		`INSERT INTO events (seq, app_id, id, type, data, created_at) VALUES (1, 'app_1', 'evt_1', 'a.b', '{}', 0)`,
		`INSERT INTO deliveries (id, app_id, event_seq, event_id, event_type, endpoint_id, status, next_attempt_at,
			available_at, lease_owner, created_at, updated_at)
		 VALUES ('dlv_leased', 'app_1', 1, 'evt_1', 'a.b', 'ep_1', 'pending', 0, 4102444800000, 'old-process', 0, 0),
		        ('dlv_done', 'app_1', 1, 'evt_1', 'a.b', 'ep_1', 'succeeded', NULL, NULL, NULL, 0, 0)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	if _, err := MigrateUp(ctx, path); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path, &Options{SkipMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	if hasLeaseIndex(s.rdb) {
		t.Error("deliveries_lease still there after 00018")
	}
	n, err := s.ReleaseAllLeases(ctx)
	if err != nil || n != 1 {
		t.Errorf("ReleaseAllLeases after 00018: %d, %v; want the one lease", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	db, p := migrationsAt(t, path, 0)
	if _, err := p.DownTo(ctx, 17); err != nil {
		t.Fatal(err)
	}
	if !hasLeaseIndex(db) {
		t.Error("deliveries_lease not back after 00018's Down")
	}
}
