package sqlitestore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMigrateStatusAndUp(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")

	st, err := MigrationStatus(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) == 0 || st[0].Applied || st[0].Version != 1 {
		t.Fatalf("status of a missing file: %+v, want migration 1 not applied", st)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("status created the file (stat: %v)", err)
	}

	if _, err := Open(ctx, path, &Options{SkipMigrate: true}); err == nil || !strings.Contains(err.Error(), "hookd migrate up") {
		t.Fatalf("Open with SkipMigrate on an empty file: %v, want the `hookd migrate up` hint", err)
	}

	applied, err := MigrateUp(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(st) {
		t.Fatalf("MigrateUp applied %d, want %d", len(applied), len(st))
	}
	st, err = MigrationStatus(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range st {
		if !m.Applied || m.AppliedAt.IsZero() {
			t.Fatalf("after up: %+v", m)
		}
	}
	again, err := MigrateUp(ctx, path)
	if err != nil || len(again) != 0 {
		t.Fatalf("second MigrateUp: %v, %d applied", err, len(again))
	}

	s, err := Open(ctx, path, &Options{SkipMigrate: true})
	if err != nil {
		t.Fatalf("Open with SkipMigrate on a migrated file: %v", err)
	}
	if _, err := MigrateUp(ctx, path); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("MigrateUp while the store is open: %v, want the lock error", err)
	}
	_ = s.Close()
}
