package sqlitestore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/hookd/hookd/internal/secrets"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/storetest"
)

// withDB runs fn on a connection of its own to the file, beside (not
// through) a Store.
func withDB(t *testing.T, path string, fn func(db *sql.DB) error) {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(path, "_pragma=busy_timeout(10000)"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := fn(db); err != nil {
		t.Fatal(err)
	}
}

func TestSecrets(t *testing.T) {
	storetest.RunSecrets(t, storetest.SecretsBackend{
		NewDB: func(t *testing.T) string { return filepath.Join(t.TempDir(), "hookd.db") },
		Open: func(t *testing.T, db string, kr *secrets.Keyring) (store.Store, error) {
			s, err := Open(context.Background(), db, &Options{Keyring: kr})
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		Raw: func(t *testing.T, db, endpointID string) (string, string) {
			var secret, prev string
			withDB(t, db, func(db *sql.DB) error {
				return db.QueryRow(`SELECT secret, prev_secret FROM endpoints WHERE id = ?`, endpointID).Scan(&secret, &prev)
			})
			return secret, prev
		},
		SetRaw: func(t *testing.T, db, endpointID, secret string) {
			withDB(t, db, func(db *sql.DB) error {
				_, err := db.Exec(`UPDATE endpoints SET secret = ? WHERE id = ?`, secret, endpointID)
				return err
			})
		},
		RawHeaders: func(t *testing.T, db, endpointID string) (string, bool) {
			var headers string
			var sealed bool
			withDB(t, db, func(db *sql.DB) error {
				return db.QueryRow(`SELECT headers, headers_sealed FROM endpoints WHERE id = ?`, endpointID).Scan(&headers, &sealed)
			})
			return headers, sealed
		},
		SetRawHeaders: func(t *testing.T, db, endpointID, headers string) {
			withDB(t, db, func(db *sql.DB) error {
				_, err := db.Exec(`UPDATE endpoints SET headers = ? WHERE id = ?`, headers, endpointID)
				return err
			})
		},
	})
}

// TestConformanceSealed runs the whole suite with endpoint secrets sealed,
// as hookd runs.
func TestConformanceSealed(t *testing.T) {
	kr, err := secrets.NewKeyring(secrets.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "hookd.db"), &Options{Keyring: kr})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
