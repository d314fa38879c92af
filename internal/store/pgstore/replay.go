package pgstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// InsertTestEvent stores a test event with its one delivery.
func (s *Store) InsertTestEvent(ctx context.Context, p *store.InsertTestEventParams) (*store.InsertEventResult, error) {
	op, err := newInsertEventOp(&store.InsertEventParams{
		Event:      p.Event,
		Deliveries: []store.NewDelivery{{ID: p.DeliveryID, EndpointID: p.EndpointID}},
	})
	if err != nil {
		return nil, err
	}
	err = s.tx(ctx, "insert test event", func(tx pgx.Tx) error {
		op.res, op.err = nil, nil
		var disabled bool
		// KEY SHARE: the endpoint cannot go while the event is written;
		// SHARE would also hold off a concurrent disabling, which the
		// dispatcher copes with (the delivery waits, paused).
		err := tx.QueryRow(ctx, `SELECT disabled FROM endpoints WHERE id = $1 AND app_id = $2 FOR KEY SHARE`,
			p.EndpointID, op.ev.AppID).Scan(&disabled)
		if err != nil {
			return notFound(err, "endpoint", p.EndpointID, "insert test event")
		}
		if disabled {
			return hook.Errorf(hook.EConflict, "", "endpoint %s is disabled", p.EndpointID)
		}
		if err := op.alone(ctx, tx); err != nil {
			return err
		}
		if !op.inserted {
			return hook.Errorf(hook.EConflict, "id", "an event with id %q exists", op.ev.ID)
		}
		if _, err := tx.Exec(ctx, `UPDATE events SET test = true WHERE app_id = $1 AND id = $2`,
			op.ev.AppID, op.ev.ID); err != nil {
			return dbErr("insert test event", err)
		}
		op.res.Event.Test = true
		return notify(ctx, tx, "")
	})
	if err != nil {
		return nil, err
	}
	return op.res, nil
}

// CreateDeliveries adds deliveries to stored events, in one statement.
func (s *Store) CreateDeliveries(ctx context.Context, p *store.CreateDeliveriesParams) ([]*hook.Delivery, error) {
	now := ms(p.Now)
	n := len(p.Deliveries)
	ids, events, eps := make([]string, n), make([]string, n), make([]string, n)
	for i, d := range p.Deliveries {
		ids[i], events[i], eps[i] = d.ID, d.EventID, d.EndpointID
	}
	var out []*hook.Delivery
	err := s.tx(ctx, "create deliveries", func(tx pgx.Tx) error {
		out = nil
		var missingEvent, missingEndpoint pgtype.Text
		err := tx.QueryRow(ctx, `SELECT
				(SELECT x FROM unnest($2::text[]) WITH ORDINALITY AS u (x, i)
				 WHERE NOT EXISTS (SELECT 1 FROM events WHERE app_id = $1 AND id = x) ORDER BY i LIMIT 1),
				(SELECT x FROM unnest($3::text[]) WITH ORDINALITY AS u (x, i)
				 WHERE NOT EXISTS (SELECT 1 FROM endpoints WHERE app_id = $1 AND id = x) ORDER BY i LIMIT 1)`,
			p.AppID, events, eps).Scan(&missingEvent, &missingEndpoint)
		switch {
		case err != nil:
			return dbErr("create deliveries", err)
		case missingEvent.Valid:
			return hook.NotFound("event", missingEvent.String)
		case missingEndpoint.Valid:
			return hook.NotFound("endpoint", missingEndpoint.String)
		}
		if p.OnlyMissing {
			// Concurrent calls for an endpoint take turns, so that
			// each sees the deliveries the other created.
			locked := slices.Clone(eps)
			slices.Sort(locked)
			if _, err := tx.Exec(ctx, `SELECT 1 FROM endpoints WHERE app_id = $1 AND id = ANY ($2)
					ORDER BY id FOR NO KEY UPDATE`, p.AppID, slices.Compact(locked)); err != nil {
				return dbErr("create deliveries: lock endpoints", err)
			}
		}
		rows, err := tx.Query(ctx, `INSERT INTO deliveries (id, app_id, event_seq, event_id, event_type, endpoint_id,
				status, next_attempt_at, available_at, created_at, updated_at, livemode)
			SELECT d.id, $1, e.seq, e.id, e.type, d.endpoint_id, 'pending', $2, $2, $2, $2, e.livemode
			FROM unnest($3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS d (id, event_id, endpoint_id, ord)
			JOIN events e ON e.app_id = $1 AND e.id = d.event_id
			WHERE NOT $6::boolean OR NOT EXISTS (
				SELECT 1 FROM deliveries x WHERE x.event_seq = e.seq AND x.endpoint_id = d.endpoint_id)
			ORDER BY d.ord
			RETURNING id, event_id, event_type, endpoint_id, livemode`,
			p.AppID, now, ids, events, eps, p.OnlyMissing)
		if err != nil {
			return createDeliveriesErr(err)
		}
		created := map[string]*hook.Delivery{}
		for rows.Next() {
			next := now
			d := &hook.Delivery{AppID: p.AppID, Status: hook.DeliveryPending, NextAttemptAt: &next,
				CreatedAt: now, UpdatedAt: now}
			if err := rows.Scan(&d.ID, &d.EventID, &d.EventType, &d.EndpointID, &d.Livemode); err != nil {
				rows.Close()
				return dbErr("create deliveries", err)
			}
			created[d.ID] = d
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return createDeliveriesErr(err)
		}
		if !p.OnlyMissing && len(created) != n {
			return fmt.Errorf("pgstore: create deliveries: %d of %d inserted", len(created), n)
		}
		out = make([]*hook.Delivery, 0, len(created))
		for _, id := range ids {
			if d := created[id]; d != nil {
				out = append(out, d)
			}
		}
		if len(out) > 0 {
			return notify(ctx, tx, "")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListUndeliveredEvents lists the events of a window an endpoint never got.
func (s *Store) ListUndeliveredEvents(ctx context.Context, p *store.ListUndeliveredEventsParams) (*store.UndeliveredEvents, error) {
	until := pgtype.Timestamptz{Valid: true, InfinityModifier: pgtype.Infinity}
	if !p.Until.IsZero() {
		until = pgtype.Timestamptz{Time: ms(p.Until), Valid: true}
	}
	rows, err := s.pool.Query(ctx, `SELECT `+eventCols+` FROM events
		WHERE app_id = $1 AND created_at >= $2 AND created_at < $3 AND NOT test AND expunged_at IS NULL
		  AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = events.seq AND d.endpoint_id = $4)
		ORDER BY created_at, seq`, p.AppID, ms(p.Since), until, p.EndpointID)
	if err != nil {
		return nil, dbErr("list undelivered events", err)
	}
	defer rows.Close()
	res := &store.UndeliveredEvents{Events: []*hook.Event{}}
	limit, size := max(p.Limit, 1), 0
	for rows.Next() {
		ev, _, err := scanEvent(rows)
		if err != nil {
			return nil, dbErr("list undelivered events", err)
		}
		if !hook.MatchEventTypes(p.EventTypes, ev.Type) {
			continue
		}
		if len(res.Events) >= limit || (p.MaxBytes > 0 && len(res.Events) > 0 && size+len(ev.Data) > p.MaxBytes) {
			res.More, res.Next = true, ev.CreatedAt
			break
		}
		res.Events = append(res.Events, ev)
		size += len(ev.Data)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, dbErr("list undelivered events", err)
	}
	return res, nil
}

// createDeliveriesErr maps the error of CreateDeliveries' insert.
func createDeliveriesErr(err error) error {
	switch {
	case uniqueViolation(err, "deliveries_id_key"):
		return hook.Errorf(hook.EConflict, "deliveries", "a delivery id given exists")
	case foreignKeyViolation(err, "deliveries_endpoint_id_fkey"), foreignKeyViolation(err, "deliveries_event_seq_fkey"):
		return hook.Errorf(hook.ENotFound, "", "an event or endpoint was deleted meanwhile")
	}
	return dbErr("create deliveries", err)
}
