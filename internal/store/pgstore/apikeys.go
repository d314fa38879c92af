package pgstore

import (
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// CreateAPIKey stores a key. A key scoped to an app is deleted with it.
func (s *Store) CreateAPIKey(ctx context.Context, p *store.CreateAPIKeyParams) (*store.APIKey, error) {
	if len(p.Hash) == 0 {
		return nil, hook.Errorf(hook.EInvalid, "hash", "is required")
	}
	k := &store.APIKey{ID: p.ID, Name: p.Name, Hash: slices.Clone(p.Hash), AppID: p.AppID, CreatedAt: ms(p.Now)}
	err := s.tx(ctx, "create API key", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx,
			`INSERT INTO api_keys (id, name, hash, app_id, created_at) VALUES ($1, $2, $3, $4, $5)`,
			k.ID, k.Name, k.Hash, nullString(k.AppID), k.CreatedAt)
		switch {
		case err == nil:
			return nil
		case uniqueViolation(err, "api_keys_hash_key"):
			return hook.Errorf(hook.EConflict, "hash", "an API key with this hash exists")
		case uniqueViolation(err, "api_keys_id_key"):
			return hook.Errorf(hook.EConflict, "id", "an API key with id %q exists", k.ID)
		case foreignKeyViolation(err, "api_keys_app_id_fkey"):
			return hook.NotFound("app", k.AppID)
		}
		return dbErr("create API key", err)
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// GetAPIKeyByHash finds a key by the SHA-256 of its secret.
func (s *Store) GetAPIKeyByHash(ctx context.Context, hash []byte) (*store.APIKey, error) {
	var (
		k     store.APIKey
		appID pgtype.Text
	)
	err := s.pool.QueryRow(ctx, `SELECT id, name, hash, app_id, created_at FROM api_keys WHERE hash = $1`, hash).
		Scan(&k.ID, &k.Name, &k.Hash, &appID, &k.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, hook.Errorf(hook.ENotFound, "", "API key not found")
	}
	if err != nil {
		return nil, dbErr("get API key", err)
	}
	k.AppID, k.CreatedAt = appID.String, utc(k.CreatedAt)
	return &k, nil
}

// CountAPIKeys counts the stored keys.
func (s *Store) CountAPIKeys(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM api_keys`).Scan(&n); err != nil {
		return 0, dbErr("count API keys", err)
	}
	return n, nil
}
