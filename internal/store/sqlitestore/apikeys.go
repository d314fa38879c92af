package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"slices"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// CreateAPIKey stores a key. A key scoped to an app is deleted with it.
func (s *Store) CreateAPIKey(ctx context.Context, p *store.CreateAPIKeyParams) (*store.APIKey, error) {
	if len(p.Hash) == 0 {
		return nil, hook.Errorf(hook.EInvalid, "hash", "is required")
	}
	k := &store.APIKey{ID: p.ID, Name: p.Name, Hash: slices.Clone(p.Hash), AppID: p.AppID, CreatedAt: msTime(p.Now),
		Portal: p.Portal, ReadOnly: p.ReadOnly}
	var exp sql.NullInt64
	if p.ExpiresAt != nil {
		t := msTime(*p.ExpiresAt)
		k.ExpiresAt, exp = &t, nullMS(t)
	}
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO api_keys (id, name, hash, app_id, created_at, expires_at, portal, read_only) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.Name, k.Hash, nullString(k.AppID), ms(k.CreatedAt), exp, k.Portal, k.ReadOnly)
		switch {
		case err == nil:
			return nil
		case uniqueViolation(err, "api_keys.hash"):
			return hook.Errorf(hook.EConflict, "hash", "an API key with this hash exists")
		case uniqueViolation(err, "api_keys.id"):
			return hook.Errorf(hook.EConflict, "id", "an API key with id %q exists", k.ID)
		case isForeignKeyViolation(err):
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

func scanAPIKey(row scanner) (*store.APIKey, int64, error) {
	var (
		k     store.APIKey
		seq   int64
		appID sql.NullString
		cre   int64
		exp   sql.NullInt64
	)
	if err := row.Scan(&seq, &k.ID, &k.Name, &k.Hash, &appID, &cre, &exp, &k.Portal, &k.ReadOnly); err != nil {
		return nil, 0, err
	}
	k.AppID, k.CreatedAt, k.ExpiresAt = appID.String, fromMS(cre), timePtr(exp)
	return &k, seq, nil
}

// GetAPIKeyByHash finds a key by the SHA-256 of its secret.
func (s *Store) GetAPIKeyByHash(ctx context.Context, hash []byte) (*store.APIKey, error) {
	k, _, err := scanAPIKey(s.rdb.QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
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
	kind := "portal = 0"
	if p.Portal {
		kind = "portal = 1"
	}
	return listSeq(ctx, s.rdb, "list API keys", p.ListParams, `SELECT `+apiKeyCols+` FROM api_keys`, []string{kind}, nil, scanAPIKey)
}

// DeletePortalKeys removes the app's portal link keys; their dashboard
// sessions go with them (ON DELETE CASCADE).
func (s *Store) DeletePortalKeys(ctx context.Context, appID string) (int64, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM api_keys WHERE app_id = ? AND portal = 1`, appID)
		if err != nil {
			return dbErr("delete portal keys", err)
		}
		n, err = res.RowsAffected()
		if err != nil {
			return dbErr("delete portal keys", err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// DeleteAPIKey removes a key; the last admin key that never expires stays
// (a conflict). The writer is the only one, so the count and the delete see
// the same rows.
func (s *Store) DeleteAPIKey(ctx context.Context, id string) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var (
			appID sql.NullString
			exp   sql.NullInt64
		)
		err := tx.QueryRowContext(ctx, `SELECT app_id, expires_at FROM api_keys WHERE id = ?`, id).Scan(&appID, &exp)
		if errors.Is(err, sql.ErrNoRows) {
			return hook.NotFound("API key", id)
		}
		if err != nil {
			return dbErr("delete API key", err)
		}
		if !appID.Valid && !exp.Valid {
			var admins int64
			if err := tx.QueryRowContext(ctx,
				`SELECT COUNT(*) FROM api_keys WHERE app_id IS NULL AND expires_at IS NULL`).Scan(&admins); err != nil {
				return dbErr("delete API key", err)
			}
			if admins <= 1 {
				return store.LastAdminKeyConflict(id)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM api_keys WHERE id = ?`, id); err != nil {
			return dbErr("delete API key", err)
		}
		return nil
	})
}

// CountAPIKeys counts the stored keys.
func (s *Store) CountAPIKeys(ctx context.Context) (int64, error) {
	var n int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_keys`).Scan(&n); err != nil {
		return 0, dbErr("count API keys", err)
	}
	return n, nil
}
