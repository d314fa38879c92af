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
	k := &store.APIKey{ID: p.ID, Name: p.Name, Hash: slices.Clone(p.Hash), AppID: p.AppID, CreatedAt: ms(p.Now),
		Portal: p.Portal, ReadOnly: p.ReadOnly}
	if p.ExpiresAt != nil {
		t := ms(*p.ExpiresAt)
		k.ExpiresAt = &t
	}
	err := s.tx(ctx, "create API key", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx,
			`INSERT INTO api_keys (id, name, hash, app_id, created_at, expires_at, portal, read_only) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			k.ID, k.Name, k.Hash, nullString(k.AppID), k.CreatedAt, k.ExpiresAt, k.Portal, k.ReadOnly)
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

const apiKeyCols = `seq, id, name, hash, app_id, created_at, expires_at, portal, read_only`

func scanAPIKey(row pgx.Row) (*store.APIKey, int64, error) {
	var (
		k     store.APIKey
		seq   int64
		appID pgtype.Text
		exp   pgtype.Timestamptz
	)
	if err := row.Scan(&seq, &k.ID, &k.Name, &k.Hash, &appID, &k.CreatedAt, &exp, &k.Portal, &k.ReadOnly); err != nil {
		return nil, 0, err
	}
	k.AppID, k.CreatedAt = appID.String, utc(k.CreatedAt)
	if exp.Valid {
		t := exp.Time.UTC()
		k.ExpiresAt = &t
	}
	return &k, seq, nil
}

// GetAPIKeyByHash finds a key by the SHA-256 of its secret.
func (s *Store) GetAPIKeyByHash(ctx context.Context, hash []byte) (*store.APIKey, error) {
	k, _, err := scanAPIKey(s.pool.QueryRow(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, hook.Errorf(hook.ENotFound, "", "API key not found")
	}
	if err != nil {
		return nil, dbErr("get API key", err)
	}
	return k, nil
}

// ListAPIKeys lists the keys, newest first: the portal links' keys or
// the others.
func (s *Store) ListAPIKeys(ctx context.Context, p *store.ListAPIKeysParams) (*store.Page[*store.APIKey], error) {
	kind := "NOT portal"
	if p.Portal {
		kind = "portal"
	}
	return listSeq(ctx, s.pool, "list API keys", p.ListParams, `SELECT `+apiKeyCols+` FROM api_keys`, []string{kind}, nil, scanAPIKey)
}

// DeletePortalKeys removes the app's portal link keys; their dashboard
// sessions go with them (ON DELETE CASCADE).
func (s *Store) DeletePortalKeys(ctx context.Context, appID string) (int64, error) {
	var n int64
	err := s.tx(ctx, "delete portal keys", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM api_keys WHERE app_id = $1 AND portal`, appID)
		if err != nil {
			return dbErr("delete portal keys", err)
		}
		n = tag.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// DeleteAPIKey removes a key; the last admin key that never expires stays
// (a conflict). Deleting such a key first locks every such key's row, so
// that concurrent deletes of the last two are serialized and the second
// sees that only one is left. (expires_at is set only when a key is
// created, so a key cannot join or leave that set meanwhile.)
func (s *Store) DeleteAPIKey(ctx context.Context, id string) error {
	return s.tx(ctx, "delete API key", func(tx pgx.Tx) error {
		var (
			appID pgtype.Text
			exp   pgtype.Timestamptz
		)
		err := tx.QueryRow(ctx, `SELECT app_id, expires_at FROM api_keys WHERE id = $1`, id).Scan(&appID, &exp)
		if errors.Is(err, pgx.ErrNoRows) {
			return hook.NotFound("API key", id)
		}
		if err != nil {
			return dbErr("delete API key", err)
		}
		if !appID.Valid && !exp.Valid {
			rows, err := tx.Query(ctx, `SELECT id FROM api_keys WHERE app_id IS NULL AND expires_at IS NULL ORDER BY id FOR UPDATE`)
			if err != nil {
				return dbErr("delete API key", err)
			}
			admins, found := 0, false
			for rows.Next() {
				var kid string
				if err := rows.Scan(&kid); err != nil {
					rows.Close()
					return dbErr("delete API key", err)
				}
				admins++
				found = found || kid == id
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return dbErr("delete API key", err)
			}
			if !found {
				return hook.NotFound("API key", id) // deleted meanwhile
			}
			if admins <= 1 {
				return store.LastAdminKeyConflict(id)
			}
		}
		tag, err := tx.Exec(ctx, `DELETE FROM api_keys WHERE id = $1`, id)
		if err != nil {
			return dbErr("delete API key", err)
		}
		if tag.RowsAffected() == 0 {
			return hook.NotFound("API key", id)
		}
		return nil
	})
}

// CountAPIKeys counts the stored keys.
func (s *Store) CountAPIKeys(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM api_keys`).Scan(&n); err != nil {
		return 0, dbErr("count API keys", err)
	}
	return n, nil
}
