package sqlitestore

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hookd/hookd/internal/hook"
)

// TestMigrationAppContracts: migration 00008 gives apps from before it
// the deployment's catalog setting and the 24-hour overlap, and reflow
// apps without an api_version Reflow's.
func TestMigrationAppContracts(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	db, _ := migrationsAt(t, path, 7)
	for _, row := range [][3]string{
		{"app_reflow_none", "reflow", ""},
		{"app_reflow_own", "reflow", "2024-06-01"},
		{"app_hookd_none", "hookd", ""},
	} {
		if _, err := db.ExecContext(ctx, `INSERT INTO apps (id, name, profile, api_version, created_at, updated_at)
			VALUES (?, ?, ?, ?, 0, 0)`, row[0], row[0], row[1], row[2]); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := MigrateUp(ctx, path); err != nil {
		t.Fatal(err)
	}
	st, err := Open(ctx, path, &Options{SkipMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for id, version := range map[string]string{"app_reflow_none": "2023-01-30", "app_reflow_own": "2024-06-01", "app_hookd_none": ""} {
		a, err := st.GetApp(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if a.APIVersion != version || a.Catalog != "" || a.SecretOverlapSeconds != hook.DefaultSecretOverlapSeconds {
			t.Errorf("%s after the migration: api_version %q, catalog %q, overlap %d; want %q, \"\", %d",
				id, a.APIVersion, a.Catalog, a.SecretOverlapSeconds, version, hook.DefaultSecretOverlapSeconds)
		}
	}
}
