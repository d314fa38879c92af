package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

const eventCols = `seq, app_id, id, type, data, previous_attributes, livemode, request_id, api_version, expunged_at, created_at, test`

func scanEvent(row pgx.Row) (*hook.Event, int64, error) {
	var (
		e    hook.Event
		seq  int64
		prev []byte
		exp  pgtype.Timestamptz
	)
	if err := row.Scan(&seq, &e.AppID, &e.ID, &e.Type, &e.Data, &prev, &e.Livemode, &e.RequestID, &e.APIVersion,
		&exp, &e.CreatedAt, &e.Test); err != nil {
		return nil, 0, err
	}
	e.ExpungedAt = timePtr(exp)
	e.PreviousAttributes = rawJSON(prev)
	e.CreatedAt = utc(e.CreatedAt)
	return &e, seq, nil
}

// sqlInsertEventBatched stores an event and its deliveries in one
// statement, for a group transaction. It writes nothing if the app does
// not exist, if one of the endpoints is not the app's, or if the app has
// an event with this id (then seq is NULL). The deliveries get the
// event's livemode ($12).
const sqlInsertEventBatched = `WITH ev AS (
		INSERT INTO events (app_id, id, type, data, created_at, previous_attributes, livemode, request_id,
			api_version)
		SELECT $1, $2, $3, $4, $5, $11::json, $12::boolean, $13::text, $14::text
		WHERE EXISTS (SELECT 1 FROM apps WHERE id = $1)
		  AND (SELECT count(*) FROM endpoints WHERE app_id = $1 AND id = ANY($6::text[]))
		    = (SELECT count(DISTINCT x) FROM unnest($6::text[]) AS x)
		ON CONFLICT (app_id, id) DO NOTHING
		RETURNING seq
	), dl AS (
		INSERT INTO deliveries (id, app_id, event_seq, event_id, event_type, endpoint_id,
			status, next_attempt_at, available_at, lease_owner, created_at, updated_at, livemode)
		SELECT d.id, $1, ev.seq, $2, $3, d.endpoint_id, 'pending', $5,
			CASE WHEN d.claimed THEN $8::timestamptz ELSE $5 END,
			CASE WHEN d.claimed THEN $9::text END, $5, $5, $12::boolean
		FROM ev, unnest($7::text[], $6::text[], $10::boolean[]) AS d (id, endpoint_id, claimed)
		RETURNING 1
	)
	SELECT (SELECT seq FROM ev), (SELECT count(*) FROM dl)`

// insertEventOp is one InsertEvent, run by the group writers.
type insertEventOp struct {
	opBase
	ev         *hook.Event
	deliveries []store.NewDelivery
	owner      string
	leaseUntil time.Time

	// results
	seq      pgtype.Int8
	res      *store.InsertEventResult
	unowned  bool // some delivery is created unclaimed: signal hookd_due
	inserted bool
}

func (op *insertEventOp) sortKey() string { return "e\x00" + op.ev.AppID + "\x00" + op.ev.ID }

func (op *insertEventOp) queue(b *pgx.Batch) {
	n := len(op.deliveries)
	ids, eps, claimed := make([]string, n), make([]string, n), make([]bool, n)
	for i, d := range op.deliveries {
		ids[i], eps[i], claimed[i] = d.ID, d.EndpointID, d.Claimed
	}
	b.Queue(sqlInsertEventBatched, op.ev.AppID, op.ev.ID, op.ev.Type, string(op.ev.Data), op.ev.CreatedAt,
		eps, ids, op.leaseUntil, op.owner, claimed,
		op.prevArg(), op.ev.Livemode, op.ev.RequestID, op.ev.APIVersion)
}

func (op *insertEventOp) read(br pgx.BatchResults) error {
	op.res, op.inserted, op.seq = nil, false, pgtype.Int8{}
	var n int64
	if err := br.QueryRow().Scan(&op.seq, &n); err != nil {
		return err
	}
	if op.seq.Valid {
		if n != int64(len(op.deliveries)) {
			return fmt.Errorf("pgstore: insert event: %d of %d deliveries inserted", n, len(op.deliveries))
		}
		op.created()
	}
	return nil
}

// created sets the result of a new event.
func (op *insertEventOp) created() {
	op.inserted = true
	out := make([]*hook.Delivery, 0, len(op.deliveries))
	for _, nd := range op.deliveries {
		next := op.ev.CreatedAt
		out = append(out, &hook.Delivery{
			ID: nd.ID, AppID: op.ev.AppID, EventID: op.ev.ID, EventType: op.ev.Type, EndpointID: nd.EndpointID,
			Status: hook.DeliveryPending, NextAttemptAt: &next, Livemode: op.ev.Livemode,
			CreatedAt: op.ev.CreatedAt, UpdatedAt: op.ev.CreatedAt,
		})
	}
	op.res = &store.InsertEventResult{Event: op.ev, Created: true, Deliveries: out}
}

// finish reads the stored event of a replay, or finds why nothing was
// written. It runs in a statement after the insert's, so it sees an event
// that a concurrent transaction committed while the insert waited for it.
func (op *insertEventOp) finish(ctx context.Context, tx pgx.Tx) error {
	if op.inserted {
		return nil
	}
	stored, err := op.replay(ctx, tx)
	if err != nil {
		return err
	}
	if stored != nil {
		return nil
	}
	// No event: the app, or one of the endpoints, is not there.
	var hasApp bool
	var missing pgtype.Text
	err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM apps WHERE id = $1),
			(SELECT x FROM unnest($2::text[]) WITH ORDINALITY AS u (x, i)
			 WHERE NOT EXISTS (SELECT 1 FROM endpoints WHERE id = x AND app_id = $1) ORDER BY i LIMIT 1)`,
		op.ev.AppID, op.endpointIDs()).Scan(&hasApp, &missing)
	switch {
	case err != nil:
		return dbErr("insert event", err)
	case !hasApp:
		op.err = hook.NotFound("app", op.ev.AppID)
	case missing.Valid:
		op.err = hook.NotFound("endpoint", missing.String)
	default:
		return errors.New("pgstore: insert event: nothing written, for no known reason")
	}
	return nil
}

// replay reads the stored event with the op's id: nil if there is none.
func (op *insertEventOp) replay(ctx context.Context, q querier) (*hook.Event, error) {
	stored, _, err := scanEvent(q.QueryRow(ctx,
		`SELECT `+eventCols+` FROM events WHERE app_id = $1 AND id = $2`, op.ev.AppID, op.ev.ID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, dbErr("insert event", err)
	}
	op.res = &store.InsertEventResult{Event: stored, Deliveries: []*hook.Delivery{}}
	return stored, nil
}

// prevArg is the previous_attributes parameter: NULL when not given, the
// exact text otherwise.
func (op *insertEventOp) prevArg() pgtype.Text {
	return pgtype.Text{String: string(op.ev.PreviousAttributes), Valid: len(op.ev.PreviousAttributes) > 0}
}

// badJSONField names the field PostgreSQL refused as JSON: data, unless
// data is valid and the previous attributes are not.
func (op *insertEventOp) badJSONField() string {
	if len(op.ev.PreviousAttributes) > 0 && json.Valid(op.ev.Data) && !json.Valid(op.ev.PreviousAttributes) {
		return "previous_attributes"
	}
	return "data"
}

func (op *insertEventOp) endpointIDs() []string {
	eps := make([]string, len(op.deliveries))
	for i, d := range op.deliveries {
		eps[i] = d.EndpointID
	}
	return eps
}

// alone inserts the event, then each delivery, with exact errors.
func (op *insertEventOp) alone(ctx context.Context, tx pgx.Tx) error {
	op.res, op.inserted = nil, false
	var seq int64
	err := tx.QueryRow(ctx, `INSERT INTO events (app_id, id, type, data, created_at, previous_attributes,
				livemode, request_id, api_version)
			SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 WHERE EXISTS (SELECT 1 FROM apps WHERE id = $1)
			ON CONFLICT (app_id, id) DO NOTHING
			RETURNING seq`,
		op.ev.AppID, op.ev.ID, op.ev.Type, string(op.ev.Data), op.ev.CreatedAt, op.prevArg(), op.ev.Livemode,
		op.ev.RequestID, op.ev.APIVersion).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		// A replay, or no such app.
		stored, err := op.replay(ctx, tx)
		if err != nil {
			return err
		}
		if stored == nil {
			return hook.NotFound("app", op.ev.AppID)
		}
		return nil
	}
	if err != nil {
		return invalidJSON(err, op.badJSONField(), "insert event")
	}
	for i, nd := range op.deliveries {
		avail, lease := op.ev.CreatedAt, pgtype.Text{}
		if nd.Claimed {
			avail, lease = op.leaseUntil, pgtype.Text{String: op.owner, Valid: true}
		}
		tag, err := tx.Exec(ctx, `INSERT INTO deliveries (id, app_id, event_seq, event_id, event_type, endpoint_id,
				status, next_attempt_at, available_at, lease_owner, created_at, updated_at, livemode)
			SELECT $1, $2, $3, $4, $5, e.id, 'pending', $6, $7, $8, $6, $6, $10
			FROM endpoints e WHERE e.id = $9 AND e.app_id = $2`,
			nd.ID, op.ev.AppID, seq, op.ev.ID, op.ev.Type, op.ev.CreatedAt, avail, lease, nd.EndpointID,
			op.ev.Livemode)
		switch {
		case uniqueViolation(err, "deliveries_id_key"):
			return hook.Errorf(hook.EConflict, fmt.Sprintf("deliveries[%d].id", i), "a delivery with id %q exists", nd.ID)
		case foreignKeyViolation(err, "deliveries_endpoint_id_fkey"):
			return hook.NotFound("endpoint", nd.EndpointID)
		case err != nil:
			return dbErr("insert delivery", err)
		case tag.RowsAffected() == 0:
			return hook.NotFound("endpoint", nd.EndpointID)
		}
	}
	op.created()
	return nil
}

// claimedIDs returns the ids of the deliveries the op leases to its owner.
func (op *insertEventOp) claimedIDs() []string {
	var ids []string
	for _, d := range op.deliveries {
		if d.Claimed {
			ids = append(ids, d.ID)
		}
	}
	return ids
}

func (op *insertEventOp) notify() (string, bool) {
	return op.owner, op.inserted && op.unowned && op.err == nil
}

// InsertEvent stores an event with its deliveries, or returns the stored
// event (Created false) if the app already has one with this id. Creating
// unclaimed deliveries signals hookd_due with p.Owner.
func (s *Store) InsertEvent(ctx context.Context, p *store.InsertEventParams) (*store.InsertEventResult, error) {
	op, err := newInsertEventOp(p)
	if err != nil {
		return nil, err
	}
	if err := s.group(ctx, op); err != nil {
		return nil, err
	}
	return op.res, nil
}

// GetEvent returns one of the app's events by its (provider-given) id.
func (s *Store) GetEvent(ctx context.Context, appID, eventID string) (*hook.Event, error) {
	e, _, err := scanEvent(s.pool.QueryRow(ctx,
		`SELECT `+eventCols+` FROM events WHERE app_id = $1 AND id = $2`, appID, eventID))
	if err != nil {
		return nil, notFound(err, "event", eventID, "get event")
	}
	return e, nil
}

// ListEvents lists the app's events, newest first. A type filter is
// resolved to the app's types it matches: up to store.MaxMergedTypes, each
// type's newest events are read from events_app_type_seq and merged (see
// listEventsOfTypes); beyond, the filter is a condition on the scan.
func (s *Store) ListEvents(ctx context.Context, p *store.ListEventsParams) (*store.Page[*hook.Event], error) {
	if !store.MatchesEveryType(p.Types) {
		types, err := s.matchingEventTypes(ctx, p.AppID, p.Types)
		if err != nil {
			return nil, err
		}
		if len(types) <= store.MaxMergedTypes {
			return s.listEventsOfTypes(ctx, p, types)
		}
	}
	var args []any
	conds := []string{cond("app_id = $", &args, p.AppID)}
	if c := typeCond("type", p.Types, &args); c != "" {
		conds = append(conds, c)
	}
	conds = append(conds, eventFilters(p, &args)...)
	return listSeq(ctx, s.pool, "list events", p.ListParams, `SELECT `+eventCols+` FROM events`, conds, args, scanEvent)
}

// eventFilters are the conditions of ListEvents but for the app and the
// types.
func eventFilters(p *store.ListEventsParams, args *[]any) []string {
	var conds []string
	if !p.Since.IsZero() {
		conds = append(conds, cond("created_at >= $", args, ms(p.Since)))
	}
	if !p.Until.IsZero() {
		conds = append(conds, cond("created_at < $", args, ms(p.Until)))
	}
	if p.Livemode != nil {
		conds = append(conds, cond("livemode = $", args, *p.Livemode))
	}
	return conds
}

// distinctTypesSQL is store.DistinctTypesSQL with PostgreSQL's placeholders.
var distinctTypesSQL = strings.NewReplacer("?1", "$1", "?2", "$2").Replace(store.DistinctTypesSQL)

// matchingEventTypes returns the types of the app's events that match
// patterns, or more than store.MaxMergedTypes of them when the app has
// more types than can be told apart cheaply.
func (s *Store) matchingEventTypes(ctx context.Context, appID string, patterns []string) ([]string, error) {
	const maxTypes = 16 * store.MaxMergedTypes
	rows, err := s.pool.Query(ctx, distinctTypesSQL, appID, maxTypes+1)
	if err != nil {
		return nil, dbErr("list events: types", err)
	}
	types, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, dbErr("list events: types", err)
	}
	if len(types) > maxTypes {
		return types, nil // too many to resolve: filter instead
	}
	return store.MatchingTypes(types, patterns), nil
}

// listEventsOfTypes lists the app's events of the given types: a page of
// each type, newest first, from events_app_type_seq, merged. It reads at
// most len(types) pages' worth of rows, however many events there are.
func (s *Store) listEventsOfTypes(ctx context.Context, p *store.ListEventsParams, types []string) (*store.Page[*hook.Event], error) {
	below, err := store.DecodeSeqCursor(p.Cursor)
	if err != nil {
		return nil, err
	}
	if len(types) == 0 {
		return &store.Page[*hook.Event]{Data: []*hook.Event{}}, nil
	}
	limit := p.NormalizedLimit()
	var args []any
	parts := make([]string, len(types))
	for i, t := range types {
		conds := append([]string{cond("app_id = $", &args, p.AppID), cond("type = $", &args, t),
			cond("seq < $", &args, below)}, eventFilters(p, &args)...)
		parts[i] = `SELECT * FROM (SELECT ` + eventCols + ` FROM events WHERE ` + strings.Join(conds, " AND ") +
			` ORDER BY seq DESC ` + cond("LIMIT $", &args, limit+1) + `) t` + strconv.Itoa(i)
	}
	q := `SELECT ` + eventCols + ` FROM (` + strings.Join(parts, " UNION ALL ") + `) u`
	return listSeq(ctx, s.pool, "list events", p.ListParams, q, nil, args, scanEvent)
}

// sqlInsertEventsBulk is sqlInsertEventBatched for many events at once:
// one statement, so that a group pays PostgreSQL's per-statement cost
// once. The inputs are parallel arrays: per event ($1-$10, ord being the
// event's index in the group) and per delivery ($11-$15, ord naming its
// event); deliveries get their event's livemode. An event is written only if its app exists and every endpoint
// is the app's, and only the first of the group's events with one (app,
// id) is tried. It returns the ord, seq and number of deliveries of each
// event written; the others are replays or failures, which finish sorts
// out.
const sqlInsertEventsBulk = `WITH input AS (
		SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
				$7::text[], $8::boolean[], $9::text[], $10::text[])
			AS i (ord, app_id, id, type, data, created_at, previous_attributes, livemode, request_id, api_version)
	), dl_in AS (
		SELECT * FROM unnest($11::int[], $12::text[], $13::text[], $14::timestamptz[], $15::text[])
			AS d (ord, id, endpoint_id, available_at, lease_owner)
	), ok AS (
		SELECT DISTINCT ON (i.app_id, i.id) i.*
		FROM input i
		WHERE EXISTS (SELECT 1 FROM apps a WHERE a.id = i.app_id)
		  AND NOT EXISTS (SELECT 1 FROM dl_in d WHERE d.ord = i.ord
			AND NOT EXISTS (SELECT 1 FROM endpoints e WHERE e.id = d.endpoint_id AND e.app_id = i.app_id))
		ORDER BY i.app_id, i.id, i.ord
	), ev AS (
		INSERT INTO events (app_id, id, type, data, created_at, previous_attributes, livemode, request_id,
			api_version)
		SELECT app_id, id, type, data::json, created_at, previous_attributes::json, livemode, request_id,
			api_version
		FROM ok ORDER BY ord
		ON CONFLICT (app_id, id) DO NOTHING
		RETURNING seq, app_id, id
	), evo AS (
		SELECT ok.ord, ev.seq, ok.app_id, ok.id, ok.type, ok.created_at, ok.livemode
		FROM ev JOIN ok ON ok.app_id = ev.app_id AND ok.id = ev.id
	), dl AS (
		INSERT INTO deliveries (id, app_id, event_seq, event_id, event_type, endpoint_id,
			status, next_attempt_at, available_at, lease_owner, created_at, updated_at, livemode)
		SELECT d.id, evo.app_id, evo.seq, evo.id, evo.type, d.endpoint_id, 'pending', evo.created_at,
			d.available_at, d.lease_owner, evo.created_at, evo.created_at, evo.livemode
		FROM evo JOIN dl_in d ON d.ord = evo.ord
		ORDER BY evo.ord
		RETURNING event_seq
	)
	SELECT evo.ord, evo.seq, (SELECT count(*) FROM dl WHERE dl.event_seq = evo.seq) FROM evo`

// queueInsertEvents queues one statement for all of ops.
func queueInsertEvents(b *pgx.Batch, ops []*insertEventOp) {
	n := len(ops)
	var (
		ords                    = make([]int32, n)
		appIDs, ids, types, dat = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		created                 = make([]time.Time, n)
		prev                    = make([]pgtype.Text, n)
		live                    = make([]bool, n)
		reqIDs, versions        = make([]string, n), make([]string, n)
		dOrd                    []int32
		dIDs, dEps              []string
		dAvail                  []time.Time
		dOwner                  []pgtype.Text
	)
	for i, op := range ops {
		ords[i] = int32(i)
		appIDs[i], ids[i], types[i], dat[i], created[i] = op.ev.AppID, op.ev.ID, op.ev.Type, string(op.ev.Data), op.ev.CreatedAt
		prev[i], live[i], reqIDs[i], versions[i] = op.prevArg(), op.ev.Livemode, op.ev.RequestID, op.ev.APIVersion
		for _, d := range op.deliveries {
			dOrd, dIDs, dEps = append(dOrd, int32(i)), append(dIDs, d.ID), append(dEps, d.EndpointID)
			if d.Claimed {
				dAvail, dOwner = append(dAvail, op.leaseUntil), append(dOwner, pgtype.Text{String: op.owner, Valid: true})
			} else {
				dAvail, dOwner = append(dAvail, op.ev.CreatedAt), append(dOwner, pgtype.Text{})
			}
		}
	}
	if dOrd == nil {
		dOrd, dIDs, dEps, dAvail, dOwner = []int32{}, []string{}, []string{}, []time.Time{}, []pgtype.Text{}
	}
	b.Queue(sqlInsertEventsBulk, ords, appIDs, ids, types, dat, created, prev, live, reqIDs, versions,
		dOrd, dIDs, dEps, dAvail, dOwner)
}

// readInsertEvents reads the result of queueInsertEvents.
func readInsertEvents(br pgx.BatchResults, ops []*insertEventOp) error {
	for _, op := range ops {
		op.res, op.inserted, op.seq = nil, false, pgtype.Int8{}
	}
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			ord int32
			seq int64
			n   int64
		)
		if err := rows.Scan(&ord, &seq, &n); err != nil {
			return err
		}
		if ord < 0 || int(ord) >= len(ops) {
			return fmt.Errorf("pgstore: insert events: unknown ord %d", ord)
		}
		op := ops[ord]
		if n != int64(len(op.deliveries)) {
			return fmt.Errorf("pgstore: insert event: %d of %d deliveries inserted", n, len(op.deliveries))
		}
		op.seq = pgtype.Int8{Int64: seq, Valid: true}
		op.created()
	}
	rows.Close()
	return rows.Err()
}

// ExpungeEvent replaces the event's data with {} and drops its previous
// attributes.
//
// Unlike sqlitestore's, it cannot overwrite the old bytes: PostgreSQL
// writes the update as a new row version, and the old one stays in the
// table (or its TOAST table) as a dead tuple until VACUUM prunes it and
// the space is reused, and in the WAL, its archives, replicas and backups
// until they rotate; none of that is in hookd's hands.
func (s *Store) ExpungeEvent(ctx context.Context, p *store.ExpungeEventParams) (*hook.Event, error) {
	var out *hook.Event
	err := s.tx(ctx, "expunge event", func(tx pgx.Tx) error {
		e, _, err := scanEvent(tx.QueryRow(ctx,
			`UPDATE events SET data = '{}', previous_attributes = NULL, expunged_at = COALESCE(expunged_at, $1)
			 WHERE app_id = $2 AND id = $3 RETURNING `+eventCols, ms(p.Now), p.AppID, p.EventID))
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
// pending, scanning in insertion order (seq) and stopping at the first
// event created at or after p.Before. Rows another node is deleting at the
// same moment are skipped, not waited for, and so are the events of a
// manual retry or an endpoint's recovery under way, which hold them (see
// RetryDelivery).
func (s *Store) PurgeEvents(ctx context.Context, p *store.PurgeEventsParams) (*store.PurgeEventsResult, error) {
	after, err := store.DecodePurgeCursor(p.Cursor)
	if err != nil {
		return nil, err
	}
	// The pending rollups first, so that the purge of the old rollups
	// finds them all.
	if err := s.flushRollups(ctx); err != nil {
		return nil, err
	}
	limit := max(p.Limit, 1)
	before := ms(p.Before)
	res := &store.PurgeEventsResult{Cursor: p.Cursor}
	err = s.tx(ctx, "purge events", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx,
			`SELECT e.seq, e.created_at,
			        EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND d.status = 'pending')
			 FROM events e WHERE e.seq > $1 ORDER BY e.seq LIMIT $2`, after, limit)
		if err != nil {
			return dbErr("purge events", err)
		}
		var doomed []int64
		last, n, done := after, 0, false
		for rows.Next() {
			var seq int64
			var created time.Time
			var pending bool
			if err := rows.Scan(&seq, &created, &pending); err != nil {
				rows.Close()
				return dbErr("purge events", err)
			}
			if !created.Before(before) {
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
		deleted := 0
		if len(doomed) > 0 {
			// Checked again: a delivery may have become pending (a
			// manual retry) since the scan.
			tag, err := tx.Exec(ctx, `DELETE FROM events WHERE seq IN (
				SELECT e.seq FROM events e WHERE e.seq = ANY ($1)
				  AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND d.status = 'pending')
				FOR UPDATE SKIP LOCKED)`, doomed)
			if err != nil {
				return dbErr("purge events", err)
			}
			deleted = int(tag.RowsAffected())
		}
		if done {
			// The rollups of the purged past go once the events have.
			for _, q := range []string{`DELETE FROM delivery_rollups WHERE minute < $1`, `DELETE FROM app_rollups WHERE minute < $1`} {
				if _, err := tx.Exec(ctx, q, before); err != nil {
					return dbErr("purge events: rollups", err)
				}
			}
		}
		res.Deleted, res.Done, res.Cursor = deleted, done, ""
		if last > 0 {
			res.Cursor = store.EncodeSeqCursor(last)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
