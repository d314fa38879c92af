package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// InsertTestEvent stores a test event with its one delivery.
func (s *Store) InsertTestEvent(ctx context.Context, p *store.InsertTestEventParams) (*store.InsertEventResult, error) {
	in, err := newEventInsert(&store.InsertEventParams{
		Event:      p.Event,
		Deliveries: []store.NewDelivery{{ID: p.DeliveryID, EndpointID: p.EndpointID}},
	})
	if err != nil {
		return nil, err
	}
	var res *store.InsertEventResult
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res = nil
		var disabled bool
		err := tx.QueryRowContext(ctx, `SELECT disabled FROM endpoints WHERE id = ? AND app_id = ?`,
			p.EndpointID, in.ev.AppID).Scan(&disabled)
		if err != nil {
			return notFound(err, "endpoint", p.EndpointID, "insert test event")
		}
		if disabled {
			return hook.Errorf(hook.EConflict, "", "endpoint %s is disabled", p.EndpointID)
		}
		r, err := s.insertEventTx(ctx, tx, in)
		if err != nil {
			return err
		}
		if !r.Created {
			return hook.Errorf(hook.EConflict, "id", "an event with id %q exists", in.ev.ID)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE events SET test = 1 WHERE app_id = ? AND id = ?`,
			in.ev.AppID, in.ev.ID); err != nil {
			return dbErr("insert test event", err)
		}
		r.Event.Test = true
		res = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// CreateDeliveries adds deliveries to stored events.
func (s *Store) CreateDeliveries(ctx context.Context, p *store.CreateDeliveriesParams) ([]*hook.Delivery, error) {
	now := msTime(p.Now)
	items := append([]store.EventDelivery(nil), p.Deliveries...)
	var out []*hook.Delivery
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		out = make([]*hook.Delivery, 0, len(items))
		type storedEvent struct {
			seq, appSeq int64
			typ         string
			livemode    bool
		}
		events := map[string]storedEvent{}
		endpoints := map[string]int64{} // id: seq
		for i, it := range items {
			ev, ok := events[it.EventID]
			if !ok {
				err := tx.QueryRowContext(ctx, `SELECT seq, app_seq, type, livemode FROM events WHERE app_id = ? AND id = ?`,
					p.AppID, it.EventID).Scan(&ev.seq, &ev.appSeq, &ev.typ, &ev.livemode)
				if err != nil {
					return notFound(err, "event", it.EventID, "create deliveries")
				}
				events[it.EventID] = ev
			}
			epSeq, ok := endpoints[it.EndpointID]
			if !ok {
				err := tx.QueryRowContext(ctx, `SELECT seq FROM endpoints WHERE id = ? AND app_id = ?`,
					it.EndpointID, p.AppID).Scan(&epSeq)
				if err != nil {
					return notFound(err, "endpoint", it.EndpointID, "create deliveries")
				}
				endpoints[it.EndpointID] = epSeq
			}
			if p.OnlyMissing {
				var has bool
				err := tx.QueryRowContext(ctx,
					`SELECT EXISTS (SELECT 1 FROM deliveries WHERE event_seq = ? AND endpoint_id = ?)`,
					ev.seq, it.EndpointID).Scan(&has)
				if err != nil {
					return dbErr("create deliveries", err)
				}
				if has {
					continue
				}
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO deliveries (id, app_id, event_seq, event_id, event_type,
					endpoint_id, status, next_attempt_at, available_at, created_at, updated_at, livemode,
					app_seq, endpoint_seq)
				VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?7, ?7, ?7, ?8, ?9, ?10)`,
				it.ID, p.AppID, ev.seq, it.EventID, ev.typ, it.EndpointID, ms(now), boolInt(ev.livemode),
				ev.appSeq, epSeq)
			if uniqueViolation(err, "deliveries.id") {
				return hook.Errorf(hook.EConflict, fmt.Sprintf("deliveries[%d].id", i), "a delivery with id %q exists", it.ID)
			}
			if err != nil {
				return dbErr("create deliveries", err)
			}
			next := now
			out = append(out, &hook.Delivery{
				ID: it.ID, AppID: p.AppID, EventID: it.EventID, EventType: ev.typ, EndpointID: it.EndpointID,
				Status: hook.DeliveryPending, NextAttemptAt: &next, Livemode: ev.livemode,
				CreatedAt: now, UpdatedAt: now,
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// sqlUndeliveredEvents is the events of an app (?1) created in [?2, ?3)
// that have no delivery to an endpoint (?4), oldest first, from
// events_app_created.
const sqlUndeliveredEvents = `SELECT ` + eventCols + ` FROM events
	WHERE app_seq = (SELECT seq FROM apps WHERE id = ?1) AND created_at >= ?2 AND created_at < ?3 AND test = 0
	  AND expunged_at IS NULL
	  AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = events.seq AND d.endpoint_id = ?4)
	ORDER BY created_at, seq`

// ListUndeliveredEvents lists the events of a window an endpoint never got.
func (s *Store) ListUndeliveredEvents(ctx context.Context, p *store.ListUndeliveredEventsParams) (*store.UndeliveredEvents, error) {
	until := int64(1<<63 - 1)
	if !p.Until.IsZero() {
		until = ms(p.Until)
	}
	rows, err := s.rdb.QueryContext(ctx, sqlUndeliveredEvents, p.AppID, ms(p.Since), until, p.EndpointID)
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
	if err := rows.Err(); err != nil {
		return nil, dbErr("list undelivered events", err)
	}
	return res, nil
}
