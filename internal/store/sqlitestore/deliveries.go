package sqlitestore

import (
	"context"
	"database/sql"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// deliveryCols reads status as paused for a pending delivery of a
// disabled endpoint.
const deliveryCols = `seq, id, app_id, event_id, event_type, endpoint_id,
	CASE WHEN status = 'pending' AND EXISTS (
		SELECT 1 FROM endpoints e WHERE e.id = deliveries.endpoint_id AND e.disabled = 1) THEN 'paused' ELSE status END,
	attempt_count,
	next_attempt_at, last_attempt_at, last_response_status, livemode, created_at, updated_at`

func scanDelivery(sc scanner) (*hook.Delivery, int64, error) {
	var (
		d          hook.Delivery
		seq        int64
		next, last sql.NullInt64
		cre, upd   int64
	)
	if err := sc.Scan(&seq, &d.ID, &d.AppID, &d.EventID, &d.EventType, &d.EndpointID, &d.Status, &d.AttemptCount,
		&next, &last, &d.LastResponseStatus, &d.Livemode, &cre, &upd); err != nil {
		return nil, 0, err
	}
	d.NextAttemptAt, d.LastAttemptAt = timePtr(next), timePtr(last)
	d.CreatedAt, d.UpdatedAt = fromMS(cre), fromMS(upd)
	return &d, seq, nil
}

const attemptCols = `id, delivery_id, number, trigger_kind, started_at, duration_ms, response_status,
	response_body, error_kind, error`

func scanAttempt(sc scanner) (*hook.Attempt, error) {
	var (
		a       hook.Attempt
		started int64
	)
	if err := sc.Scan(&a.ID, &a.DeliveryID, &a.Number, &a.Trigger, &started, &a.DurationMillis, &a.ResponseStatus,
		&a.ResponseBody, &a.ErrorKind, &a.Error); err != nil {
		return nil, err
	}
	a.StartedAt = fromMS(started)
	a.Duration = time.Duration(a.DurationMillis) * time.Millisecond
	return &a, nil
}

func getDelivery(ctx context.Context, q querier, appID, deliveryID string) (*hook.Delivery, error) {
	d, _, err := scanDelivery(q.QueryRowContext(ctx,
		`SELECT `+deliveryCols+` FROM deliveries WHERE id = ? AND app_id = ?`, deliveryID, appID))
	if err != nil {
		return nil, notFound(err, "delivery", deliveryID, "get delivery")
	}
	return d, nil
}

// GetDelivery returns the delivery with its attempts (rows and inline
// one), oldest first.
func (s *Store) GetDelivery(ctx context.Context, appID, deliveryID string) (*hook.Delivery, error) {
	// One read transaction, so the delivery and its attempts agree.
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, dbErr("get delivery", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	d, err := getDelivery(ctx, tx, appID, deliveryID)
	if err != nil {
		return nil, err
	}
	if d.Attempts, err = deliveryAttempts(ctx, tx, deliveryID); err != nil {
		return nil, dbErr("get delivery attempts", err)
	}
	return d, nil
}

// ListDeliveries lists the app's deliveries, newest first.
func (s *Store) ListDeliveries(ctx context.Context, p *store.ListDeliveriesParams) (*store.Page[*hook.Delivery], error) {
	conds, args := listDeliveriesConds(p)
	return listSeq(ctx, s.rdb, "list deliveries", p.ListParams, `SELECT `+deliveryCols+` FROM deliveries`,
		conds, args, scanDelivery)
}

// listDeliveriesConds are ListDeliveries' conditions on deliveries, with
// their arguments.
func listDeliveriesConds(p *store.ListDeliveriesParams) ([]string, []any) {
	conds, args := []string{"app_seq = " + appSeqOf}, []any{p.AppID}
	switch p.Status {
	case "":
	case hook.DeliveryPaused:
		conds = append(conds, "status = 'pending' AND endpoint_id IN (SELECT id FROM endpoints WHERE disabled = 1)")
	case hook.DeliveryPending:
		conds = append(conds, "status = 'pending' AND endpoint_id NOT IN (SELECT id FROM endpoints WHERE disabled = 1)")
	case hook.DeliveryFailed:
		conds = append(conds, "status = 'failed'") // a literal, so that deliveries_app_failed applies
	default:
		conds, args = append(conds, "status = ?"), append(args, p.Status)
	}
	conds = deliveryFilterConds(conds, &args, p.AppID, p.EndpointID, p.EventID, p.EventTypes, p.Since, p.Until)
	if p.Livemode != nil {
		conds, args = append(conds, "livemode = ?"), append(args, boolInt(*p.Livemode))
	}
	return conds, args
}

// RetryDelivery makes a delivery due now: a pending one keeps its place in
// the schedule, a finished one becomes pending for one manual attempt. A
// delivery leased right now is a conflict.
func (s *Store) RetryDelivery(ctx context.Context, p *store.RetryDeliveryParams) (*hook.Delivery, error) {
	now := ms(p.Now)
	var out *hook.Delivery
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var (
			status, epID string
			owner        sql.NullString
			avail        sql.NullInt64
			disabled     bool
		)
		err := tx.QueryRowContext(ctx,
			`SELECT d.status, d.lease_owner, d.available_at, d.endpoint_id, e.disabled
			 FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id WHERE d.id = ? AND d.app_id = ?`,
			p.DeliveryID, p.AppID).Scan(&status, &owner, &avail, &epID, &disabled)
		if err != nil {
			return notFound(err, "delivery", p.DeliveryID, "retry delivery")
		}
		if disabled {
			return store.EndpointDisabledConflict(epID)
		}
		if status == hook.DeliveryPending && owner.Valid && avail.Valid && avail.Int64 > now {
			return hook.Errorf(hook.EConflict, "", "delivery %q is being attempted now", p.DeliveryID)
		}
		q := `UPDATE deliveries SET next_attempt_at = ?1, available_at = ?1, lease_owner = NULL, updated_at = ?1
			WHERE id = ?2`
		if status != hook.DeliveryPending {
			q = `UPDATE deliveries SET status = 'pending', manual = 1, next_attempt_at = ?1, available_at = ?1,
				lease_owner = NULL, updated_at = ?1 WHERE id = ?2`
		}
		if _, err := tx.ExecContext(ctx, q, now, p.DeliveryID); err != nil {
			return dbErr("retry delivery", err)
		}
		out, err = getDelivery(ctx, tx, p.AppID, p.DeliveryID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// sqlRecoverEndpoint makes an endpoint's (?2) failed deliveries created at
// or after ?3 due at ?1, each for one manual attempt; it reads the
// endpoint's deliveries from deliveries_endpoint_seq.
const sqlRecoverEndpoint = `UPDATE deliveries SET status = 'pending', manual = 1, next_attempt_at = ?1, available_at = ?1,
		lease_owner = NULL, updated_at = ?1
	WHERE endpoint_seq = (SELECT seq FROM endpoints WHERE id = ?2) AND status = 'failed' AND created_at >= ?3`

// RecoverEndpoint makes the endpoint's failed deliveries created at or
// after Since due now, each for one manual attempt.
func (s *Store) RecoverEndpoint(ctx context.Context, p *store.RecoverEndpointParams) (int, error) {
	now := ms(p.Now)
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var disabled bool
		err := tx.QueryRowContext(ctx, `SELECT disabled FROM endpoints WHERE id = ? AND app_id = ?`,
			p.EndpointID, p.AppID).Scan(&disabled)
		if err != nil {
			return notFound(err, "endpoint", p.EndpointID, "recover endpoint")
		}
		if disabled {
			return store.EndpointDisabledConflict(p.EndpointID)
		}
		res, err := tx.ExecContext(ctx, sqlRecoverEndpoint, now, p.EndpointID, ms(p.Since))
		if err != nil {
			return dbErr("recover endpoint", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}

// deliveryFilterConds appends to conds (and their arguments to args) the
// filters a list of an app's deliveries takes: endpoint, event, event
// types (names or patterns) and creation in [since, until); an empty or
// zero filter does not narrow.
func deliveryFilterConds(conds []string, args *[]any, appID, endpointID, eventID string, types []string, since, until time.Time) []string {
	if endpointID != "" {
		conds, *args = append(conds, "endpoint_seq = "+endpointSeqOf), append(*args, endpointID)
	}
	if eventID != "" {
		conds = append(conds, "event_seq = (SELECT seq FROM events WHERE app_id = ? AND id = ?)")
		*args = append(*args, appID, eventID)
	}
	if c := typeCond("event_type", types, args); c != "" {
		conds = append(conds, c)
	}
	if !since.IsZero() {
		conds, *args = append(conds, "created_at >= ?"), append(*args, ms(since))
	}
	if !until.IsZero() {
		conds, *args = append(conds, "created_at < ?"), append(*args, ms(until))
	}
	return conds
}
