package pgstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/store"
)

// retryFailedConds are the WHERE conditions (on deliveries) of the app's
// failed deliveries that match p's filters and are not leased at now. The
// app's id is $1.
func retryFailedConds(p *store.RetryFailedDeliveriesParams, now time.Time, args *[]any) string {
	conds := []string{
		cond("app_id = $", args, p.AppID),
		"status = 'failed'",
		cond("(lease_owner IS NULL OR available_at IS NULL OR available_at <= $", args, now) + ")",
	}
	conds = deliveryFilterConds(conds, args, p.EndpointID, p.EventID, p.EventTypes, p.Since, p.Until)
	return strings.Join(conds, " AND ")
}

// RetryFailedDeliveries makes up to p.Limit of the app's failed deliveries
// that match the filters, oldest first, due now, each for one manual
// attempt, in one transaction, and signals hookd_due if there were any.
// Those of disabled endpoints are counted, up to the limit, and left
// failed. As in RecoverEndpoint, their events are held against the purge
// first, and only the deliveries of the events held are made due.
func (s *Store) RetryFailedDeliveries(ctx context.Context, p *store.RetryFailedDeliveriesParams) (*store.RetryFailedResult, error) {
	now, limit := ms(p.Now), store.RetryFailedLimit(p.Limit)
	var args []any
	where := retryFailedConds(p, now, &args)
	enabled := where + " AND endpoint_id NOT IN (SELECT id FROM endpoints WHERE app_id = $1 AND disabled)"
	disabled := where + " AND endpoint_id IN (SELECT id FROM endpoints WHERE app_id = $1 AND disabled)"
	lim := "$" + strconv.Itoa(len(args)+1)
	withLimit := append(append([]any{}, args...), limit)
	out := &store.RetryFailedResult{}
	err := s.tx(ctx, "retry failed deliveries", func(tx pgx.Tx) error {
		*out = store.RetryFailedResult{}
		var seqs, events []int64
		rows, err := tx.Query(ctx, `SELECT seq, event_seq FROM deliveries WHERE `+enabled+` ORDER BY seq LIMIT `+lim+` + 1`,
			withLimit...)
		if err != nil {
			return dbErr("retry failed deliveries: select", err)
		}
		for rows.Next() {
			var seq, ev int64
			if err := rows.Scan(&seq, &ev); err != nil {
				rows.Close()
				return dbErr("retry failed deliveries: select", err)
			}
			seqs, events = append(seqs, seq), append(events, ev)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return dbErr("retry failed deliveries: select", err)
		}
		if len(seqs) > limit {
			seqs, events, out.Truncated = seqs[:limit], events[:limit], true
		}
		if len(seqs) > 0 {
			rows, err := tx.Query(ctx, `SELECT seq FROM events WHERE seq = ANY ($1) ORDER BY seq FOR KEY SHARE`, events)
			if err != nil {
				return dbErr("retry failed deliveries: hold events", err)
			}
			held, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				return dbErr("retry failed deliveries: hold events", err)
			}
			tag, err := tx.Exec(ctx,
				`UPDATE deliveries SET status = 'pending', manual = true, next_attempt_at = $1, available_at = $1,
					lease_owner = NULL, updated_at = $1
				 WHERE seq = ANY ($2) AND status = 'failed' AND event_seq = ANY ($3)
				   AND (lease_owner IS NULL OR available_at IS NULL OR available_at <= $1)
				   AND endpoint_id NOT IN (SELECT id FROM endpoints WHERE disabled)`,
				now, seqs, held)
			if err != nil {
				return dbErr("retry failed deliveries", err)
			}
			out.Retried = int(tag.RowsAffected())
		}
		err = tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM deliveries WHERE `+disabled+` LIMIT `+lim+`) d`,
			withLimit...).Scan(&out.SkippedDisabled)
		if err != nil {
			return dbErr("retry failed deliveries: disabled", err)
		}
		if out.Retried > 0 {
			return notify(ctx, tx, "")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
