package pgstore

import (
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// CreateDashboardSession stores a session and deletes the expired ones.
func (s *Store) CreateDashboardSession(ctx context.Context, p *store.CreateDashboardSessionParams) (*store.DashboardSession, error) {
	if len(p.Hash) == 0 {
		return nil, hook.Errorf(hook.EInvalid, "hash", "is required")
	}
	var sess *store.DashboardSession
	err := s.tx(ctx, "create dashboard session", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM dashboard_sessions WHERE expires_at <= $1`, ms(p.Now)); err != nil {
			return dbErr("create dashboard session", err)
		}
		_, err := tx.Exec(ctx,
			`INSERT INTO dashboard_sessions (hash, key_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
			p.Hash, p.KeyID, ms(p.Now), ms(p.ExpiresAt))
		switch {
		case err == nil:
		case uniqueViolation(err, "dashboard_sessions_pkey"):
			return hook.Errorf(hook.EConflict, "hash", "a dashboard session with this hash exists")
		case foreignKeyViolation(err, "dashboard_sessions_key_id_fkey"):
			return hook.NotFound("API key", p.KeyID)
		default:
			return dbErr("create dashboard session", err)
		}
		k, _, err := scanAPIKey(tx.QueryRow(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE id = $1`, p.KeyID))
		if err != nil {
			return dbErr("create dashboard session", err)
		}
		sess = &store.DashboardSession{Hash: slices.Clone(p.Hash), CreatedAt: ms(p.Now), ExpiresAt: ms(p.ExpiresAt), Key: k}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sess, nil
}

// GetDashboardSession finds a session valid at p.Now, with its key.
func (s *Store) GetDashboardSession(ctx context.Context, p *store.GetDashboardSessionParams) (*store.DashboardSession, error) {
	var sess store.DashboardSession
	row := s.pool.QueryRow(ctx, `SELECT ds.created_at, ds.expires_at, k.seq, k.id, k.name, k.hash, k.app_id, k.created_at, k.expires_at, k.portal, k.read_only
		FROM dashboard_sessions ds JOIN api_keys k ON k.id = ds.key_id
		WHERE ds.hash = $1 AND ds.expires_at > $2 AND (k.expires_at IS NULL OR k.expires_at > $2)`,
		p.Hash, ms(p.Now))
	k, _, err := scanAPIKey(prefixRow{row: row, dst: []any{&sess.CreatedAt, &sess.ExpiresAt}})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, hook.Errorf(hook.ENotFound, "", "dashboard session not found")
	}
	if err != nil {
		return nil, dbErr("get dashboard session", err)
	}
	sess.Hash, sess.CreatedAt, sess.ExpiresAt, sess.Key = slices.Clone(p.Hash), utc(sess.CreatedAt), utc(sess.ExpiresAt), k
	return &sess, nil
}

// DeleteDashboardSession ends a session.
func (s *Store) DeleteDashboardSession(ctx context.Context, hash []byte) error {
	return s.tx(ctx, "delete dashboard session", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM dashboard_sessions WHERE hash = $1`, hash)
		if err != nil {
			return dbErr("delete dashboard session", err)
		}
		if tag.RowsAffected() == 0 {
			return hook.Errorf(hook.ENotFound, "", "dashboard session not found")
		}
		return nil
	})
}

// prefixRow scans the first columns of a row into dst and the rest into
// what Scan is given, so that a row scanner can read a join.
type prefixRow struct {
	row pgx.Row
	dst []any
}

func (p prefixRow) Scan(dest ...any) error {
	return p.row.Scan(append(slices.Clone(p.dst), dest...)...)
}
