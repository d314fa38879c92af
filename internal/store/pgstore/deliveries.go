package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// deliveryCols reads status as paused for a pending delivery of a
// disabled endpoint.
const deliveryCols = `seq, id, app_id, event_id, event_type, endpoint_id,
	CASE WHEN status = 'pending' AND EXISTS (
		SELECT 1 FROM endpoints e WHERE e.id = deliveries.endpoint_id AND e.disabled) THEN 'paused' ELSE status END,
	attempt_count,
	next_attempt_at, last_attempt_at, last_response_status, livemode, created_at, updated_at`

func scanDelivery(row pgx.Row) (*hook.Delivery, int64, error) {
	var (
		d          hook.Delivery
		seq        int64
		next, last pgtype.Timestamptz
	)
	if err := row.Scan(&seq, &d.ID, &d.AppID, &d.EventID, &d.EventType, &d.EndpointID, &d.Status, &d.AttemptCount,
		&next, &last, &d.LastResponseStatus, &d.Livemode, &d.CreatedAt, &d.UpdatedAt); err != nil {
		return nil, 0, err
	}
	d.NextAttemptAt, d.LastAttemptAt = timePtr(next), timePtr(last)
	d.CreatedAt, d.UpdatedAt = utc(d.CreatedAt), utc(d.UpdatedAt)
	return &d, seq, nil
}

func getDelivery(ctx context.Context, q querier, appID, deliveryID string) (*hook.Delivery, error) {
	d, _, err := scanDelivery(q.QueryRow(ctx,
		`SELECT `+deliveryCols+` FROM deliveries WHERE id = $1 AND app_id = $2`, deliveryID, appID))
	if err != nil {
		return nil, notFound(err, "delivery", deliveryID, "get delivery")
	}
	return d, nil
}

// sqlGetDelivery is the delivery $1 of app $2, one row per attempt
// (rows and the inline one, oldest first), or one row without an attempt.
const sqlGetDelivery = `SELECT d.seq, d.id, d.app_id, d.event_id, d.event_type, d.endpoint_id,
		CASE WHEN d.status = 'pending' AND EXISTS (
			SELECT 1 FROM endpoints e WHERE e.id = d.endpoint_id AND e.disabled) THEN 'paused' ELSE d.status END,
		d.attempt_count, d.next_attempt_at, d.last_attempt_at, d.last_response_status, d.livemode,
		d.created_at, d.updated_at,
		a.id, a.number, a.trigger_kind, a.started_at, a.duration_ms, a.response_status,
		a.response_body, a.error_kind, a.error
	FROM deliveries d LEFT JOIN LATERAL (
		SELECT seq, id, number, trigger_kind, started_at, duration_ms, response_status, response_body,
			error_kind, error
		FROM attempts WHERE delivery_id = d.id
		UNION ALL
		SELECT d.first_attempt_seq, d.first_attempt_id, 1, d.first_trigger, d.first_started_at,
			d.first_duration_ms, d.first_response_status, d.first_response_body, '', ''
		WHERE d.first_attempt_seq IS NOT NULL) a ON true
	WHERE d.id = $1 AND d.app_id = $2
	ORDER BY a.seq`

// GetDelivery returns the delivery with its attempts, oldest first, rows
// and the inline one (migration 00017): one statement, so they agree.
func (s *Store) GetDelivery(ctx context.Context, appID, deliveryID string) (*hook.Delivery, error) {
	rows, err := s.pool.Query(ctx, sqlGetDelivery, deliveryID, appID)
	if err != nil {
		return nil, dbErr("get delivery", err)
	}
	defer rows.Close()
	var d *hook.Delivery
	for rows.Next() {
		var (
			dd         hook.Delivery
			seq        int64
			next, last pgtype.Timestamptz
			aID        pgtype.Text
			a          hook.Attempt
			num        pgtype.Int4
			trig       pgtype.Text
			started    pgtype.Timestamptz
			dur        pgtype.Int8
			status     pgtype.Int4
			body, kind pgtype.Text
			msg        pgtype.Text
		)
		if err := rows.Scan(&seq, &dd.ID, &dd.AppID, &dd.EventID, &dd.EventType, &dd.EndpointID, &dd.Status,
			&dd.AttemptCount, &next, &last, &dd.LastResponseStatus, &dd.Livemode, &dd.CreatedAt, &dd.UpdatedAt,
			&aID, &num, &trig, &started, &dur, &status, &body, &kind, &msg); err != nil {
			return nil, dbErr("get delivery", err)
		}
		if d == nil {
			dd.NextAttemptAt, dd.LastAttemptAt = timePtr(next), timePtr(last)
			dd.CreatedAt, dd.UpdatedAt = utc(dd.CreatedAt), utc(dd.UpdatedAt)
			dd.Attempts = []*hook.Attempt{}
			d = &dd
		}
		if !aID.Valid {
			continue
		}
		a.ID, a.DeliveryID, a.Number, a.Trigger = aID.String, d.ID, int(num.Int32), trig.String
		a.StartedAt = started.Time.UTC()
		a.DurationMillis = dur.Int64
		a.Duration = time.Duration(a.DurationMillis) * time.Millisecond
		a.ResponseStatus, a.ResponseBody = int(status.Int32), body.String
		a.ErrorKind, a.Error = kind.String, msg.String
		d.Attempts = append(d.Attempts, &a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, dbErr("get delivery", err)
	}
	if d == nil {
		return nil, hook.NotFound("delivery", deliveryID)
	}
	return d, nil
}

// ListDeliveries lists the app's deliveries, newest first.
func (s *Store) ListDeliveries(ctx context.Context, p *store.ListDeliveriesParams) (*store.Page[*hook.Delivery], error) {
	var args []any
	conds := []string{cond("app_id = $", &args, p.AppID)}
	switch p.Status {
	case "":
	case hook.DeliveryPaused:
		conds = append(conds, "status = 'pending' AND endpoint_id IN (SELECT id FROM endpoints WHERE disabled)")
	case hook.DeliveryPending:
		conds = append(conds, "status = 'pending' AND endpoint_id NOT IN (SELECT id FROM endpoints WHERE disabled)")
	case hook.DeliveryFailed:
		conds = append(conds, "status = 'failed'") // a literal, so that deliveries_app_failed applies
	default:
		conds = append(conds, cond("status = $", &args, p.Status))
	}
	conds = deliveryFilterConds(conds, &args, p.EndpointID, p.EventID, p.EventTypes, p.Since, p.Until)
	if p.Livemode != nil {
		conds = append(conds, cond("livemode = $", &args, *p.Livemode))
	}
	return listSeq(ctx, s.pool, "list deliveries", p.ListParams, `SELECT `+deliveryCols+` FROM deliveries`,
		conds, args, scanDelivery)
}

// Making a finished delivery pending holds its event against the purge
// first, with a FOR KEY SHARE lock until the transaction ends. The purge's
// DELETE takes old events FOR UPDATE SKIP LOCKED, so it passes these
// events by: otherwise it could delete a delivery that this transaction is
// making pending, a change that its check of pending deliveries cannot see
// before the commit (a retry reported done, then lost). An event the purge
// holds already is waited for, and is gone when the wait ends.

// RetryDelivery makes a delivery due now: a pending one keeps its place in
// the schedule, a finished one becomes pending for one manual attempt. A
// delivery leased right now is a conflict. It signals hookd_due. Its event
// is held against the purge first: a delivery the purge deleted first is
// not found.
func (s *Store) RetryDelivery(ctx context.Context, p *store.RetryDeliveryParams) (*hook.Delivery, error) {
	now := ms(p.Now)
	var out *hook.Delivery
	err := s.tx(ctx, "retry delivery", func(tx pgx.Tx) error {
		var (
			status, epID string
			owner        pgtype.Text
			avail        pgtype.Timestamptz
			disabled     bool
		)
		if _, err := tx.Exec(ctx, `SELECT 1 FROM events WHERE seq = (
				SELECT event_seq FROM deliveries WHERE id = $1 AND app_id = $2) FOR KEY SHARE`,
			p.DeliveryID, p.AppID); err != nil {
			return dbErr("retry delivery: hold event", err)
		}
		err := tx.QueryRow(ctx,
			`SELECT d.status, d.lease_owner, d.available_at, d.endpoint_id, e.disabled
			 FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id
			 WHERE d.id = $1 AND d.app_id = $2 FOR UPDATE OF d`,
			p.DeliveryID, p.AppID).Scan(&status, &owner, &avail, &epID, &disabled)
		if err != nil {
			return notFound(err, "delivery", p.DeliveryID, "retry delivery")
		}
		if disabled {
			return store.EndpointDisabledConflict(epID)
		}
		if status == hook.DeliveryPending && owner.Valid && avail.Valid && avail.Time.After(now) {
			return hook.Errorf(hook.EConflict, "", "delivery %q is being attempted now", p.DeliveryID)
		}
		q := `UPDATE deliveries SET next_attempt_at = $1, available_at = $1, lease_owner = NULL, updated_at = $1
			WHERE id = $2`
		if status != hook.DeliveryPending {
			q = `UPDATE deliveries SET status = 'pending', manual = true, next_attempt_at = $1, available_at = $1,
				lease_owner = NULL, updated_at = $1 WHERE id = $2`
		}
		if _, err := tx.Exec(ctx, q, now, p.DeliveryID); err != nil {
			return dbErr("retry delivery", err)
		}
		if err := notify(ctx, tx, ""); err != nil {
			return err
		}
		out, err = getDelivery(ctx, tx, p.AppID, p.DeliveryID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RecoverEndpoint makes the endpoint's failed deliveries created at or
// after Since due now, each for one manual attempt, and signals hookd_due
// if there were any. Their events are held against the purge first, and
// only the deliveries of the events held are recovered (one that fails
// meanwhile is left for the next recovery).
func (s *Store) RecoverEndpoint(ctx context.Context, p *store.RecoverEndpointParams) (int, error) {
	now := ms(p.Now)
	var n int64
	err := s.tx(ctx, "recover endpoint", func(tx pgx.Tx) error {
		var disabled bool
		err := tx.QueryRow(ctx, `SELECT disabled FROM endpoints WHERE id = $1 AND app_id = $2`,
			p.EndpointID, p.AppID).Scan(&disabled)
		if err != nil {
			return notFound(err, "endpoint", p.EndpointID, "recover endpoint")
		}
		if disabled {
			return store.EndpointDisabledConflict(p.EndpointID)
		}
		rows, err := tx.Query(ctx, `SELECT seq FROM events WHERE seq IN (
				SELECT event_seq FROM deliveries WHERE endpoint_id = $1 AND status = 'failed' AND created_at >= $2)
			ORDER BY seq FOR KEY SHARE`, p.EndpointID, ms(p.Since))
		if err != nil {
			return dbErr("recover endpoint: hold events", err)
		}
		events, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return dbErr("recover endpoint: hold events", err)
		}
		tag, err := tx.Exec(ctx,
			`UPDATE deliveries SET status = 'pending', manual = true, next_attempt_at = $1, available_at = $1,
				lease_owner = NULL, updated_at = $1
			 WHERE endpoint_id = $2 AND status = 'failed' AND created_at >= $3 AND event_seq = ANY ($4)`,
			now, p.EndpointID, ms(p.Since), events)
		if err != nil {
			return dbErr("recover endpoint", err)
		}
		n = tag.RowsAffected()
		if n > 0 {
			return notify(ctx, tx, "")
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}

// deliveryFilterConds appends to conds (and their arguments to args) the
// filters a list of an app's deliveries takes: endpoint, event, event
// types (names or patterns) and creation in [since, until); an empty or
// zero filter does not narrow. The app's id must be $1.
func deliveryFilterConds(conds []string, args *[]any, endpointID, eventID string, types []string, since, until time.Time) []string {
	if endpointID != "" {
		conds = append(conds, cond("endpoint_id = $", args, endpointID))
	}
	if eventID != "" {
		conds = append(conds, cond("event_seq = (SELECT seq FROM events WHERE app_id = $1 AND id = $", args, eventID)+")")
	}
	if c := typeCond("event_type", types, args); c != "" {
		conds = append(conds, c)
	}
	if !since.IsZero() {
		conds = append(conds, cond("created_at >= $", args, ms(since)))
	}
	if !until.IsZero() {
		conds = append(conds, cond("created_at < $", args, ms(until)))
	}
	return conds
}
