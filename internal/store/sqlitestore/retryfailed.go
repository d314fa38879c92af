package sqlitestore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/hookd/hookd/internal/store"
)

// retryFailedConds are the WHERE conditions (on deliveries) of the app's
// failed deliveries that match p's filters and are not leased at now.
func retryFailedConds(p *store.RetryFailedDeliveriesParams, now int64) ([]string, []any) {
	conds := []string{"app_seq = " + appSeqOf, "status = 'failed'", "(lease_owner IS NULL OR available_at IS NULL OR available_at <= ?)"}
	args := []any{p.AppID, now}
	conds = deliveryFilterConds(conds, &args, p.AppID, p.EndpointID, p.EventID, p.EventTypes, p.Since, p.Until)
	return conds, args
}

// RetryFailedDeliveries makes up to p.Limit of the app's failed deliveries
// that match the filters, oldest first, due now, each for one manual
// attempt, in one transaction. Those of disabled endpoints are counted,
// up to the limit, and left failed.
func (s *Store) RetryFailedDeliveries(ctx context.Context, p *store.RetryFailedDeliveriesParams) (*store.RetryFailedResult, error) {
	now, limit := ms(p.Now), store.RetryFailedLimit(p.Limit)
	conds, args := retryFailedConds(p, now)
	where := strings.Join(conds, " AND ")
	enabled := where + " AND endpoint_id NOT IN (SELECT id FROM endpoints WHERE app_id = ? AND disabled = 1)"
	disabled := where + " AND endpoint_id IN (SELECT id FROM endpoints WHERE app_id = ? AND disabled = 1)"
	with := func(extra ...any) []any { return append(append(append([]any{}, args...), p.AppID), extra...) }
	out := &store.RetryFailedResult{}
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		*out = store.RetryFailedResult{}
		res, err := tx.ExecContext(ctx,
			`UPDATE deliveries SET status = 'pending', manual = 1, next_attempt_at = ?, available_at = ?,
				lease_owner = NULL, updated_at = ?
			 WHERE seq IN (SELECT seq FROM deliveries WHERE `+enabled+` ORDER BY seq LIMIT ?)`,
			append([]any{now, now, now}, with(limit)...)...)
		if err != nil {
			return dbErr("retry failed deliveries", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return dbErr("retry failed deliveries", err)
		}
		out.Retried = int(n)
		if out.Retried == limit {
			// Those made due are pending now: any left is beyond the limit.
			err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM deliveries WHERE `+enabled+`)`, with()...).
				Scan(&out.Truncated)
			if err != nil {
				return dbErr("retry failed deliveries: more", err)
			}
		}
		err = tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM deliveries WHERE `+disabled+` LIMIT ?)`,
			with(limit)...).Scan(&out.SkippedDisabled)
		if err != nil {
			return dbErr("retry failed deliveries: disabled", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
