package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

const eventCols = `seq, app_id, id, type, data, previous_attributes, livemode, request_id, api_version, expunged_at, created_at, test`

func scanEvent(sc scanner) (*hook.Event, int64, error) {
	var (
		e    hook.Event
		seq  int64
		data string
		prev sql.NullString
		exp  sql.NullInt64
		cre  int64
	)
	if err := sc.Scan(&seq, &e.AppID, &e.ID, &e.Type, &data, &prev, &e.Livemode, &e.RequestID, &e.APIVersion,
		&exp, &cre, &e.Test); err != nil {
		return nil, 0, err
	}
	e.ExpungedAt = timePtr(exp)
	e.Data = []byte(data)
	if prev.Valid {
		e.PreviousAttributes = []byte(prev.String)
	}
	e.CreatedAt = fromMS(cre)
	return &e, seq, nil
}

// InsertEvent stores an event with its deliveries, or returns the stored
// event (Created false) if the app already has one with this id.
func (s *Store) InsertEvent(ctx context.Context, p *store.InsertEventParams) (*store.InsertEventResult, error) {
	in, err := newEventInsert(p)
	if err != nil {
		return nil, err
	}
	var res *store.InsertEventResult
	err = s.writeThen(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		res, err = s.insertEventTx(ctx, tx, in)
		return err
	}, func() { s.addClaimed(in, res) })
	if err != nil {
		return nil, err
	}
	return res, nil
}

// eventInsert is what InsertEvent writes: copied out of its params, in
// the stored form.
type eventInsert struct {
	ev            *hook.Event
	prev          sql.NullString
	created       int64
	leaseUntil    int64
	newDeliveries []store.NewDelivery
	owner         string
}

// newEventInsert copies what p stores.
func newEventInsert(p *store.InsertEventParams) (*eventInsert, error) {
	if p.Event == nil {
		return nil, hook.Errorf(hook.EInvalid, "event", "is required")
	}
	ev := &hook.Event{
		ID: p.Event.ID, AppID: p.Event.AppID, Type: p.Event.Type,
		Data: slices.Clone(p.Event.Data), CreatedAt: msTime(p.Event.CreatedAt),
		PreviousAttributes: slices.Clone(p.Event.PreviousAttributes), Livemode: p.Event.Livemode,
		RequestID: p.Event.RequestID, APIVersion: p.Event.APIVersion,
	}
	prev := sql.NullString{String: string(ev.PreviousAttributes), Valid: len(ev.PreviousAttributes) > 0}
	if len(ev.Data) == 0 {
		ev.Data = []byte("null")
	}
	return &eventInsert{
		ev: ev, prev: prev, created: ms(ev.CreatedAt), leaseUntil: ms(p.LeaseUntil),
		newDeliveries: slices.Clone(p.Deliveries), owner: p.Owner,
	}, nil
}

// addClaimed remembers the leases of in's claimed deliveries, once res,
// its result, has committed (see leases.go).
func (s *Store) addClaimed(in *eventInsert, res *store.InsertEventResult) {
	if res == nil || !res.Created {
		return
	}
	var ids []string
	for _, nd := range in.newDeliveries {
		if nd.Claimed {
			ids = append(ids, nd.ID)
		}
	}
	s.leases.Add(in.owner, ids)
}

// insertEventTx writes in in tx: the event and its deliveries, or nothing
// and the stored event (Created false) on a replay. It writes only to tx
// and returns a fresh result, so it may run again (see Store.write).
func (s *Store) insertEventTx(ctx context.Context, tx *sql.Tx, in *eventInsert) (*store.InsertEventResult, error) {
	ev, prev, created, leaseUntil, newDeliveries, owner := in.ev, in.prev, in.created, in.leaseUntil, in.newDeliveries, in.owner
	var seq, appSeq int64
	err := tx.StmtContext(ctx, s.stmts.insertEvent).QueryRowContext(ctx,
		ev.AppID, ev.ID, ev.Type, string(ev.Data), created, prev, boolInt(ev.Livemode), ev.RequestID,
		ev.APIVersion).Scan(&seq, &appSeq)
	if errors.Is(err, sql.ErrNoRows) {
		// A replay, or no such app.
		stored, _, err := scanEvent(tx.QueryRowContext(ctx,
			`SELECT `+eventCols+` FROM events WHERE app_id = ? AND id = ?`, ev.AppID, ev.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return nil, hook.NotFound("app", ev.AppID)
		}
		if err != nil {
			return nil, dbErr("insert event", err)
		}
		return &store.InsertEventResult{Event: stored, Deliveries: []*hook.Delivery{}}, nil
	}
	if err != nil {
		return nil, dbErr("insert event", err)
	}
	ins := tx.StmtContext(ctx, s.stmts.insertDelivery)
	out := make([]*hook.Delivery, 0, len(newDeliveries))
	for i, nd := range newDeliveries {
		avail, lease := created, sql.NullString{}
		if nd.Claimed {
			avail, lease = leaseUntil, sql.NullString{String: owner, Valid: true}
		}
		r, err := ins.ExecContext(ctx, nd.ID, ev.AppID, seq, ev.ID, ev.Type, created, avail, lease, nd.EndpointID,
			boolInt(ev.Livemode), appSeq)
		if uniqueViolation(err, "deliveries.id") {
			return nil, hook.Errorf(hook.EConflict, fmt.Sprintf("deliveries[%d].id", i), "a delivery with id %q exists", nd.ID)
		}
		if err != nil {
			return nil, dbErr("insert delivery", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return nil, hook.NotFound("endpoint", nd.EndpointID)
		}
		next := ev.CreatedAt
		out = append(out, &hook.Delivery{
			ID: nd.ID, AppID: ev.AppID, EventID: ev.ID, EventType: ev.Type, EndpointID: nd.EndpointID,
			Status: hook.DeliveryPending, NextAttemptAt: &next, Livemode: ev.Livemode,
			CreatedAt: ev.CreatedAt, UpdatedAt: ev.CreatedAt,
		})
	}
	return &store.InsertEventResult{Event: ev, Created: true, Deliveries: out}, nil
}

// GetEvent returns one of the app's events by its (provider-given) id.
func (s *Store) GetEvent(ctx context.Context, appID, eventID string) (*hook.Event, error) {
	e, _, err := scanEvent(s.rdb.QueryRowContext(ctx,
		`SELECT `+eventCols+` FROM events WHERE app_id = ? AND id = ?`, appID, eventID))
	if err != nil {
		return nil, notFound(err, "event", eventID, "get event")
	}
	return e, nil
}

// ListEvents lists the app's events, newest first. A type filter is
// resolved to the app's types it matches: up to store.MaxMergedTypes, each
// type's newest events are read from events_app_type_seq and merged (see
// listEventsOfTypes); beyond, the filter is a condition on an ordered
// scan.
func (s *Store) ListEvents(ctx context.Context, p *store.ListEventsParams) (*store.Page[*hook.Event], error) {
	var conds []string
	var args []any
	if !p.Since.IsZero() {
		conds, args = append(conds, "created_at >= ?"), append(args, ms(p.Since))
	}
	if !p.Until.IsZero() {
		conds, args = append(conds, "created_at < ?"), append(args, ms(p.Until))
	}
	if p.Livemode != nil {
		conds, args = append(conds, "livemode = ?"), append(args, boolInt(*p.Livemode))
	}
	var tconds []string
	var targs []any
	if !store.MatchesEveryType(p.Types) {
		types, err := s.matchingEventTypes(ctx, p.AppID, p.Types)
		if err != nil {
			return nil, err
		}
		if len(types) <= store.MaxMergedTypes {
			return s.listEventsOfTypes(ctx, p, types, conds, args)
		}
		tconds = []string{typeCond("type", p.Types, &targs)}
	}
	return listSeq(ctx, s.rdb, "list events", p.ListParams, `SELECT `+eventCols+` FROM events`,
		append(append([]string{"app_seq = " + appSeqOf}, tconds...), conds...), append(append([]any{p.AppID}, targs...), args...),
		scanEvent)
}

// matchingEventTypes returns the types of the app's events that match
// patterns, or more than store.MaxMergedTypes of them when the app has
// more types than can be told apart cheaply.
func (s *Store) matchingEventTypes(ctx context.Context, appID string, patterns []string) ([]string, error) {
	const maxTypes = 16 * store.MaxMergedTypes
	rows, err := s.rdb.QueryContext(ctx, sqlDistinctTypes, appID, maxTypes+1)
	if err != nil {
		return nil, dbErr("list events: types", err)
	}
	defer rows.Close()
	var types []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, dbErr("list events: types", err)
		}
		types = append(types, t)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("list events: types", err)
	}
	if len(types) > maxTypes {
		return types, nil // too many to resolve: filter instead
	}
	return store.MatchingTypes(types, patterns), nil
}

// listEventsOfTypes lists the app's events of the given types (conds and
// args are the other filters): a page of each type, newest first, from
// events_app_type_seq, merged. It reads at most len(types) pages' worth of
// rows, however many events there are.
func (s *Store) listEventsOfTypes(ctx context.Context, p *store.ListEventsParams, types, conds []string,
	args []any,
) (*store.Page[*hook.Event], error) {
	below, err := store.DecodeSeqCursor(p.Cursor)
	if err != nil {
		return nil, err
	}
	if len(types) == 0 {
		return &store.Page[*hook.Event]{Data: []*hook.Event{}}, nil
	}
	q, all := eventsOfTypesQuery(p.AppID, types, conds, args, below, p.NormalizedLimit())
	return listSeq(ctx, s.rdb, "list events", p.ListParams, q, nil, all, scanEvent)
}

// eventsOfTypesQuery is listEventsOfTypes' query, before listSeq's page
// conditions: for each type, its newest limit+1 events of the app below
// seq below that meet conds, merged.
func eventsOfTypesQuery(appID string, types, conds []string, args []any, below int64, limit int) (string, []any) {
	where := strings.Join(append([]string{"app_seq = " + appSeqOf, "type = ?", "seq < ?"}, conds...), " AND ")
	parts := make([]string, len(types))
	var all []any
	for i, t := range types {
		parts[i] = `SELECT * FROM (SELECT ` + eventCols + ` FROM events WHERE ` + where + ` ORDER BY seq DESC LIMIT ?)`
		all = append(append(append(all, appID, t, below), args...), limit+1)
	}
	return `SELECT ` + eventCols + ` FROM (` + strings.Join(parts, " UNION ALL ") + `)`, all
}

// ExpungeEvent replaces the event's data with {} and drops its previous
// attributes, and overwrites their bytes in the database file and the WAL:
// the update runs with secure_delete on, so SQLite zeroes the space the old
// values held (in the row's page and in any overflow pages it frees), and a
// TRUNCATE checkpoint after the commit copies those pages into the database
// file and empties the WAL, which held the earlier versions of the pages.
// (Copies that SQLite left elsewhere before, e.g. in pages freed by earlier
// writes while secure_delete was off, are not sought out.)
func (s *Store) ExpungeEvent(ctx context.Context, p *store.ExpungeEventParams) (*hook.Event, error) {
	var out *hook.Event
	err := s.writeTruncatingWAL(ctx, func(ctx context.Context, tx *sql.Tx) (err error) {
		if _, err := tx.ExecContext(ctx, `PRAGMA secure_delete = ON`); err != nil {
			return dbErr("expunge event: secure_delete", err)
		}
		defer func() {
			if _, rerr := tx.ExecContext(ctx, `PRAGMA secure_delete = OFF`); rerr != nil && err == nil {
				err = dbErr("expunge event: secure_delete", rerr)
			}
		}()
		e, _, err := scanEvent(tx.QueryRowContext(ctx,
			`UPDATE events SET data = '{}', previous_attributes = NULL, expunged_at = COALESCE(expunged_at, ?)
			 WHERE app_id = ? AND id = ? RETURNING `+eventCols, ms(msTime(p.Now)), p.AppID, p.EventID))
		if err != nil {
			return notFound(err, "event", p.EventID, "expunge event")
		}
		out = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PurgeEvents deletes a batch of old events none of whose deliveries is
// pending. Events are scanned in insertion order (seq), which is the order
// of their created_at up to the few milliseconds concurrent requests can
// overlap by, so the scan stops at the first event created at or after
// p.Before. The pending rollups are written first, so that the purge of
// the old rollups finds them all.
func (s *Store) PurgeEvents(ctx context.Context, p *store.PurgeEventsParams) (*store.PurgeEventsResult, error) {
	after, err := store.DecodePurgeCursor(p.Cursor)
	if err != nil {
		return nil, err
	}
	if err := s.flushRollups(ctx); err != nil {
		return nil, err
	}
	limit := max(p.Limit, 1)
	before := ms(msTime(p.Before))
	res := &store.PurgeEventsResult{Cursor: p.Cursor}
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx,
			`SELECT e.seq, e.created_at,
			        EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND d.status = 'pending')
			 FROM events e WHERE e.seq > ? ORDER BY e.seq LIMIT ?`, after, limit)
		if err != nil {
			return dbErr("purge events", err)
		}
		var doomed []int64
		last, n := after, 0
		done := false
		for rows.Next() {
			var seq, created int64
			var pending bool
			if err := rows.Scan(&seq, &created, &pending); err != nil {
				rows.Close()
				return dbErr("purge events", err)
			}
			if created >= before {
				done = true
				break
			}
			n++
			last = seq
			if !pending {
				doomed = append(doomed, seq)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return dbErr("purge events", err)
		}
		if n < limit {
			done = true
		}
		if len(doomed) > 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM events WHERE seq IN (SELECT value FROM json_each(?))`, jsonInts(doomed)); err != nil {
				return dbErr("purge events", err)
			}
		}
		if done {
			// The rollups of the purged past go once the events have.
			if err := purgeRollups(ctx, tx, before); err != nil {
				return dbErr("purge events", err)
			}
		}
		res.Deleted, res.Done, res.Cursor = len(doomed), done, store.EncodeSeqCursor(last)
		if last == 0 {
			res.Cursor = ""
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
