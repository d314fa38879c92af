package pgstore

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/secrets"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/storetest"
)

// withConn runs fn on a connection of its own to the database, beside
// (not through) a Store.
func withConn(t *testing.T, dsn string, fn func(conn *pgx.Conn) error) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := fn(conn); err != nil {
		t.Fatal(err)
	}
}

func TestSecrets(t *testing.T) {
	testDSN(t)
	storetest.RunSecrets(t, storetest.SecretsBackend{
		NewDB: func(t *testing.T) string { return newSchema(t) },
		Open: func(t *testing.T, db string, kr *secrets.Keyring) (store.Store, error) {
			s, err := Open(context.Background(), db, &Options{MaxConns: 8, Keyring: kr})
			if err != nil {
				return nil, err
			}
			return s, nil
		},
		Raw: func(t *testing.T, db, endpointID string) (string, string) {
			var secret, prev string
			withConn(t, db, func(conn *pgx.Conn) error {
				return conn.QueryRow(context.Background(),
					`SELECT secret, prev_secret FROM endpoints WHERE id = $1`, endpointID).Scan(&secret, &prev)
			})
			return secret, prev
		},
		SetRaw: func(t *testing.T, db, endpointID, secret string) {
			withConn(t, db, func(conn *pgx.Conn) error {
				_, err := conn.Exec(context.Background(), `UPDATE endpoints SET secret = $1 WHERE id = $2`, secret, endpointID)
				return err
			})
		},
		RawHeaders: func(t *testing.T, db, endpointID string) (string, bool) {
			var headers string
			var sealed bool
			withConn(t, db, func(conn *pgx.Conn) error {
				return conn.QueryRow(context.Background(),
					`SELECT headers::text, headers_sealed FROM endpoints WHERE id = $1`, endpointID).Scan(&headers, &sealed)
			})
			return headers, sealed
		},
		SetRawHeaders: func(t *testing.T, db, endpointID, headers string) {
			withConn(t, db, func(conn *pgx.Conn) error {
				_, err := conn.Exec(context.Background(), `UPDATE endpoints SET headers = $1::jsonb WHERE id = $2`, headers, endpointID)
				return err
			})
		},
	})
}

// TestConformanceSealed runs the whole suite with endpoint secrets sealed,
// as hookd runs.
func TestConformanceSealed(t *testing.T) {
	testDSN(t)
	kr, err := secrets.NewKeyring(secrets.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), newSchema(t), &Options{MaxConns: 8, Keyring: kr})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
