package pgstore

import (
	"context"
	"testing"

	"github.com/hookd/hookd/internal/hook"
)

// TestMigrationAppContracts: migration 00007 gives apps from before it
// the deployment's catalog setting and the 24-hour overlap, and reflow
// apps without an api_version Reflow's.
func TestMigrationAppContracts(t *testing.T) {
	ctx := context.Background()
	dsn := newSchema(t)
	m := migratorAt(t, dsn, 6)
	for _, row := range [][3]string{
		{"app_reflow_none", "reflow", ""},
		{"app_reflow_own", "reflow", "2024-06-01"},
		{"app_hookd_none", "hookd", ""},
	} {
		if _, err := m.db.ExecContext(ctx, `INSERT INTO apps (id, name, profile, api_version, created_at, updated_at)
			VALUES ($1, $1, $2, $3, now(), now())`, row[0], row[1], row[2]); err != nil {
			m.close()
			t.Fatal(err)
		}
	}
	m.close()
	if _, err := MigrateUp(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	st := openDSN(t, dsn)
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
