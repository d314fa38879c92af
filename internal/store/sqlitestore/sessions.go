package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"slices"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// CreateDashboardSession stores a session and deletes the expired ones.
func (s *Store) CreateDashboardSession(ctx context.Context, p *store.CreateDashboardSessionParams) (*store.DashboardSession, error) {
	if len(p.Hash) == 0 {
		return nil, hook.Errorf(hook.EInvalid, "hash", "is required")
	}
	var sess *store.DashboardSession
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM dashboard_sessions WHERE expires_at <= ?`, ms(p.Now)); err != nil {
			return dbErr("create dashboard session", err)
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO dashboard_sessions (hash, key_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			p.Hash, p.KeyID, ms(p.Now), ms(p.ExpiresAt))
		switch {
		case err == nil:
		case uniqueViolation(err, "dashboard_sessions.hash"):
			return hook.Errorf(hook.EConflict, "hash", "a dashboard session with this hash exists")
		case isForeignKeyViolation(err):
			return hook.NotFound("API key", p.KeyID)
		default:
			return dbErr("create dashboard session", err)
		}
		k, _, err := scanAPIKey(tx.QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE id = ?`, p.KeyID))
		if err != nil {
			return dbErr("create dashboard session", err)
		}
		sess = &store.DashboardSession{Hash: slices.Clone(p.Hash), CreatedAt: msTime(p.Now), ExpiresAt: msTime(p.ExpiresAt), Key: k}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sess, nil
}

// GetDashboardSession finds a session valid at p.Now, with its key.
func (s *Store) GetDashboardSession(ctx context.Context, p *store.GetDashboardSessionParams) (*store.DashboardSession, error) {
	var (
		sess     store.DashboardSession
		cre, exp int64
	)
	row := s.rdb.QueryRowContext(ctx, `SELECT ds.created_at, ds.expires_at, k.seq, k.id, k.name, k.hash, k.app_id, k.created_at, k.expires_at, k.portal, k.read_only
		FROM dashboard_sessions ds JOIN api_keys k ON k.id = ds.key_id
		WHERE ds.hash = ? AND ds.expires_at > ? AND (k.expires_at IS NULL OR k.expires_at > ?)`,
		p.Hash, ms(p.Now), ms(p.Now))
	k, _, err := scanAPIKey(prefixScanner{row: row, dst: []any{&cre, &exp}})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hook.Errorf(hook.ENotFound, "", "dashboard session not found")
	}
	if err != nil {
		return nil, dbErr("get dashboard session", err)
	}
	sess.Hash, sess.CreatedAt, sess.ExpiresAt, sess.Key = slices.Clone(p.Hash), fromMS(cre), fromMS(exp), k
	return &sess, nil
}

// DeleteDashboardSession ends a session.
func (s *Store) DeleteDashboardSession(ctx context.Context, hash []byte) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM dashboard_sessions WHERE hash = ?`, hash)
		if err != nil {
			return dbErr("delete dashboard session", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr("delete dashboard session", err)
		} else if n == 0 {
			return hook.Errorf(hook.ENotFound, "", "dashboard session not found")
		}
		return nil
	})
}

// prefixScanner scans the first columns of a row into dst and the rest
// into what Scan is given, so that a row scanner can read a join.
type prefixScanner struct {
	row scanner
	dst []any
}

func (p prefixScanner) Scan(dest ...any) error {
	return p.row.Scan(append(slices.Clone(p.dst), dest...)...)
}
