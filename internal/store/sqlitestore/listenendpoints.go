package sqlitestore

import (
	"context"
	"database/sql"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// listenSeenAt is the listen_seen_at of a new endpoint: now for a listen
// endpoint, NULL for the others.
func listenSeenAt(e *hook.Endpoint, now time.Time) sql.NullInt64 {
	if e.Kind != hook.EndpointKindListen {
		return sql.NullInt64{}
	}
	return nullMS(now)
}

// TouchListenEndpoints sets the listen_seen_at of the listen endpoints
// p.IDs to p.Now and returns how many it found.
func (s *Store) TouchListenEndpoints(ctx context.Context, p *store.TouchListenEndpointsParams) (int, error) {
	if len(p.IDs) == 0 {
		return 0, nil
	}
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE endpoints SET listen_seen_at = ?1
			WHERE kind = 'listen' AND id IN (SELECT value FROM json_each(?2))`, ms(p.Now), jsonIDs(p.IDs))
		if err != nil {
			return dbErr("touch listen endpoints", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}

// DeleteStaleListenEndpoints deletes the listen endpoints not seen since
// p.Before, with their deliveries and attempts, in one transaction.
func (s *Store) DeleteStaleListenEndpoints(ctx context.Context, p *store.DeleteStaleListenEndpointsParams) ([]*hook.Endpoint, error) {
	limit := p.Limit
	if limit < 1 {
		limit = 100
	}
	var out []*hook.Endpoint
	err := s.writeEndpoints(ctx, func(ctx context.Context, tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, `DELETE FROM endpoints WHERE seq IN (
				SELECT seq FROM endpoints WHERE kind = 'listen' AND listen_seen_at < ?1 ORDER BY listen_seen_at LIMIT ?2)
			RETURNING `+endpointCols, ms(p.Before), limit)
		if err != nil {
			return dbErr("delete stale listen endpoints", err)
		}
		defer rows.Close()
		for rows.Next() {
			e, _, err := s.scanEndpoint(rows)
			if err != nil {
				return dbErr("delete stale listen endpoints", err)
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
