package pgstore

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// sqlClaim leases due deliveries in one statement. Claimable means status
// = 'pending' AND available_at <= now ($3).
//
//   - eps: the enabled endpoints (not in $2, and, of the listen endpoints,
//     only those in $8, whose streams this node holds) with a claimable
//     delivery, in
//     rotation order: those after the endpoint served last ($1) by seq,
//     then the others from the start; at most $4 (Limit) of them, each
//     with n, how many it can give (at most $5, PerEndpoint). Each is
//     one probe of deliveries_claim, bounded by $5 rows, however large
//     its backlog.
//   - quota: how many the endpoints before each one take, so that each
//     takes min(n, Limit - before), as sqlitestore's loop does.
//   - picked: the oldest-due claimable deliveries of each endpoint, locked
//     with FOR UPDATE SKIP LOCKED, so that concurrent claims (of this or
//     another process) never take the same row. A row another
//     transaction leased and committed meanwhile is re-checked against
//     the WHERE clause and left out.
//
// The window function and the row locks are at different query levels,
// as PostgreSQL requires. The UPDATE finds the picked rows by primary key
// (seq = ANY), whatever the planner thinks of picked's size.
const sqlClaim = `WITH eps AS (
		SELECT part, seq, id, n FROM (
			(SELECT 0 AS part, e.seq, e.id, c.n
			 FROM endpoints e CROSS JOIN LATERAL (
				SELECT count(*) AS n FROM (
					SELECT 1 FROM deliveries d
					WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.available_at <= $3
					ORDER BY d.available_at LIMIT $5) x) c
			 WHERE NOT e.disabled AND e.ordering <> 'fifo' AND e.seq > $1 AND e.id <> ALL ($2::text[]) AND c.n > 0
			   AND (e.kind <> 'listen' OR e.id = ANY ($8::text[]))
			 ORDER BY e.seq LIMIT $4)
			UNION ALL
			(SELECT 1 AS part, e.seq, e.id, c.n
			 FROM endpoints e CROSS JOIN LATERAL (
				SELECT count(*) AS n FROM (
					SELECT 1 FROM deliveries d
					WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.available_at <= $3
					ORDER BY d.available_at LIMIT $5) x) c
			 WHERE NOT e.disabled AND e.ordering <> 'fifo' AND e.seq <= $1 AND e.id <> ALL ($2::text[]) AND c.n > 0
			   AND (e.kind <> 'listen' OR e.id = ANY ($8::text[]))
			 ORDER BY e.seq LIMIT $4)
		) u
		ORDER BY part, seq LIMIT $4
	), quota AS (
		SELECT part, seq, id, n,
			coalesce(sum(n) OVER (ORDER BY part, seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
		FROM eps
	), picked AS MATERIALIZED (
		SELECT q.part, q.seq AS ep_seq, q.id AS ep_id, d.seq, d.available_at
		FROM quota q CROSS JOIN LATERAL (
			SELECT d.seq, d.available_at FROM deliveries d
			WHERE d.endpoint_id = q.id AND d.status = 'pending' AND d.available_at <= $3
			ORDER BY d.available_at
			LIMIT least(q.n, $4 - q.before)
			FOR UPDATE SKIP LOCKED) d
		WHERE q.before < $4
	)
	UPDATE deliveries d SET lease_owner = $6, available_at = $7
	FROM picked p
	WHERE d.seq = ANY (ARRAY (SELECT seq FROM picked)) AND d.seq = p.seq
	RETURNING p.part, p.ep_seq, p.ep_id, p.available_at, d.id, d.event_seq, d.attempt_count,
		d.scheduled_attempts, d.manual`

// sqlClaimFIFO leases, of each enabled FIFO endpoint (not in $1), its
// oldest pending delivery if that one is claimable (due at $2, and not in
// flight), at most $3 in all, to $4 until $5: while the oldest waits for a retry or is in
// flight, the ones after it wait too. A head row that a concurrent claim
// holds is skipped, never passed over for the next one: that endpoint
// gives nothing this time. Rows come back shaped as sqlClaim's, in part 2.
const sqlClaimFIFO = `WITH heads AS (
		SELECT e.seq AS ep_seq, e.id AS ep_id,
			(SELECT d.seq FROM deliveries d WHERE d.endpoint_id = e.id AND d.status = 'pending'
			 ORDER BY d.seq LIMIT 1) AS head
		FROM endpoints e
		WHERE NOT e.disabled AND e.ordering = 'fifo' AND e.id <> ALL ($1::text[])
			AND (e.kind <> 'listen' OR e.id = ANY ($6::text[]))
	), picked AS MATERIALIZED (
		SELECT h.ep_seq, h.ep_id, d.seq, d.available_at
		FROM heads h JOIN deliveries d ON d.seq = h.head
		WHERE d.status = 'pending' AND d.available_at <= $2
		ORDER BY h.ep_seq
		LIMIT $3
		FOR UPDATE OF d SKIP LOCKED
	)
	UPDATE deliveries d SET lease_owner = $4, available_at = $5
	FROM picked p
	WHERE d.seq = p.seq
	RETURNING 2, p.ep_seq, p.ep_id, p.available_at, d.id, d.event_seq, d.attempt_count,
		d.scheduled_attempts, d.manual`

// claimRow is a delivery leased by sqlClaim.
type claimRow struct {
	part, epSeq, eventSeq int64
	epID, id              string
	due                   time.Time
	attempts, sched       int
	manual                bool
}

// ClaimDeliveries leases due deliveries to p.Owner until p.LeaseUntil, in
// one transaction.
//
// It visits the enabled endpoints (not in p.ExcludeEndpoints) that have a
// claimable delivery in seq order, starting after the endpoint this
// Store's previous claim served last, so that no endpoint is always served
// last, and takes from each its oldest-due claimable deliveries, at most
// p.PerEndpoint (p.Limit if zero), until p.Limit in all. The work is
// bounded by the rows taken and the endpoints visited, whatever the
// backlog. Rows that a concurrent claim holds are skipped, so a claim may
// take fewer than it could under contention. p.Limit of zero or less
// claims nothing.
func (s *Store) ClaimDeliveries(ctx context.Context, p *store.ClaimDeliveriesParams) (*store.ClaimResult, error) {
	res := &store.ClaimResult{Jobs: []*store.Job{}, Endpoints: map[string]*hook.Endpoint{}, Apps: map[string]*hook.App{}}
	limit := p.Limit
	if limit <= 0 {
		if s.isClosed() {
			return nil, ErrClosed
		}
		return res, nil
	}
	per := p.PerEndpoint
	if per <= 0 || per > limit {
		per = limit
	}
	exclude := p.ExcludeEndpoints
	if exclude == nil {
		exclude = []string{}
	}
	listen := p.ListenEndpoints
	if listen == nil {
		listen = []string{}
	}
	now, until := ms(p.Now), ms(p.LeaseUntil)
	after := s.claimAfter.Load()

	var lastSeq int64
	err := s.tx(ctx, "claim deliveries", func(tx pgx.Tx) error {
		res.Jobs = res.Jobs[:0]
		clear(res.Endpoints)
		clear(res.Apps)
		lastSeq = 0
		var picked []claimRow
		read := func(sql string, args ...any) error {
			rows, err := tx.Query(ctx, sql, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var r claimRow
				if err := rows.Scan(&r.part, &r.epSeq, &r.epID, &r.due, &r.id, &r.eventSeq, &r.attempts,
					&r.sched, &r.manual); err != nil {
					return err
				}
				picked = append(picked, r)
			}
			return rows.Err()
		}
		if err := read(sqlClaim, after, exclude, now, limit, per, p.Owner, until, listen); err != nil {
			return dbErr("claim deliveries", err)
		}
		if len(picked) < limit {
			if err := read(sqlClaimFIFO, exclude, now, limit-len(picked), p.Owner, until, listen); err != nil {
				return dbErr("claim deliveries: fifo", err)
			}
		}
		if len(picked) == 0 {
			return nil
		}
		// In rotation order, oldest due first within an endpoint.
		slices.SortFunc(picked, func(a, b claimRow) int {
			return cmp.Or(cmp.Compare(a.part, b.part), cmp.Compare(a.epSeq, b.epSeq), a.due.Compare(b.due))
		})
		lastSeq = picked[len(picked)-1].epSeq

		byEvent := map[int64][]*store.Job{}
		var served []string
		for _, r := range picked {
			job := &store.Job{
				DeliveryID: r.id, EndpointID: r.epID,
				AttemptCount: r.attempts, ScheduledAttempts: r.sched, Manual: r.manual,
			}
			res.Jobs = append(res.Jobs, job)
			byEvent[r.eventSeq] = append(byEvent[r.eventSeq], job)
			if len(served) == 0 || served[len(served)-1] != r.epID {
				served = append(served, r.epID)
			}
		}
		seqs := make([]int64, 0, len(byEvent))
		for seq := range byEvent {
			seqs = append(seqs, seq)
		}

		// Each event once, shared by its jobs; the endpoints; and their
		// apps. The claimed rows' locks keep the endpoints and apps from
		// being deleted until the transaction ends (deleting either
		// cascades to the deliveries), so the three agree.
		b := &pgx.Batch{}
		b.Queue(`SELECT `+eventCols+` FROM events WHERE seq = ANY ($1)`, seqs)
		b.Queue(`SELECT `+endpointCols+` FROM endpoints WHERE id = ANY ($1)`, served)
		b.Queue(`SELECT `+appCols+` FROM apps
			WHERE id = ANY (ARRAY (SELECT DISTINCT app_id FROM endpoints WHERE id = ANY ($1)))`, served)
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		erows, err := br.Query()
		if err != nil {
			return dbErr("claim deliveries: events", err)
		}
		for erows.Next() {
			ev, seq, err := scanEvent(erows)
			if err != nil {
				erows.Close()
				return dbErr("claim deliveries: events", err)
			}
			for _, j := range byEvent[seq] {
				j.Event = ev
			}
		}
		erows.Close()
		if err := erows.Err(); err != nil {
			return dbErr("claim deliveries: events", err)
		}
		prows, err := br.Query()
		if err != nil {
			return dbErr("claim deliveries: endpoints", err)
		}
		for prows.Next() {
			e, _, err := s.scanEndpoint(prows)
			if err != nil {
				prows.Close()
				return dbErr("claim deliveries: endpoints", err)
			}
			res.Endpoints[e.ID] = e
		}
		prows.Close()
		if err := prows.Err(); err != nil {
			return dbErr("claim deliveries: endpoints", err)
		}
		arows, err := br.Query()
		if err != nil {
			return dbErr("claim deliveries: apps", err)
		}
		for arows.Next() {
			a, _, err := scanApp(arows)
			if err != nil {
				arows.Close()
				return dbErr("claim deliveries: apps", err)
			}
			res.Apps[a.ID] = a
		}
		arows.Close()
		if err := arows.Err(); err != nil {
			return dbErr("claim deliveries: apps", err)
		}
		return br.Close()
	})
	if err != nil {
		return nil, err
	}
	if lastSeq != 0 {
		s.claimAfter.Store(lastSeq)
	}
	ids := make([]string, len(res.Jobs))
	for i, j := range res.Jobs {
		ids[i] = j.DeliveryID
	}
	s.leases.Add(p.Owner, ids)
	return res, nil
}

// sqlRecordAttempt stores an attempt if its delivery exists, updates the
// delivery while owner ($15) holds its lease, and disables the endpoint
// if asked ($17) and the delivery exists.
const sqlRecordAttempt = `WITH att AS (
		INSERT INTO attempts (id, delivery_id, app_id, number, trigger_kind, started_at, duration_ms,
			response_status, response_body, error_kind, error)
		SELECT $1, d.id, d.app_id, $2, $3, $4, $5, $6, $7, $8, $9 FROM deliveries d WHERE d.id = $10
		RETURNING 1
	), upd AS (
		UPDATE deliveries SET status = $11, attempt_count = $2, scheduled_attempts = $12, manual = false,
			last_attempt_at = $4, last_response_status = $6, next_attempt_at = $13, available_at = $13,
			lease_owner = NULL, updated_at = $14
		WHERE id = $10 AND lease_owner = $15
		RETURNING app_id, endpoint_id, created_at
	), dis AS (
		UPDATE endpoints SET disabled = true, updated_at = $14
		WHERE id = $16 AND NOT disabled AND $17::boolean AND EXISTS (SELECT 1 FROM att)
		RETURNING 1
	)
	SELECT (SELECT count(*) FROM att), (SELECT count(*) FROM dis), upd.app_id, upd.endpoint_id, upd.created_at
	FROM (SELECT 1) one LEFT JOIN upd ON true`

// sqlRecordAttemptInline is sqlRecordAttempt for an attempt that may be
// kept on its delivery's row (see inlineAttempt): while owner ($15) holds
// the lease, the update keeps it there, with a seq of the attempts' own
// sequence; otherwise (the lease was lost) it is a row, as any other.
const sqlRecordAttemptInline = `WITH upd AS (
		UPDATE deliveries SET status = $11, attempt_count = $2, scheduled_attempts = $12, manual = false,
			last_attempt_at = $4, last_response_status = $6, next_attempt_at = $13, available_at = $13,
			lease_owner = NULL, updated_at = $14,
			first_attempt_id = $1, first_attempt_seq = nextval('attempts_seq_seq'), first_trigger = $3,
			first_started_at = $4, first_duration_ms = $5, first_response_status = $6, first_response_body = $7
		WHERE id = $10 AND lease_owner = $15
		RETURNING app_id, endpoint_id, created_at
	), att AS (
		INSERT INTO attempts (id, delivery_id, app_id, number, trigger_kind, started_at, duration_ms,
			response_status, response_body, error_kind, error)
		SELECT $1, d.id, d.app_id, $2, $3, $4, $5, $6, $7, $8, $9 FROM deliveries d
		WHERE d.id = $10 AND NOT EXISTS (SELECT 1 FROM upd)
		RETURNING 1
	), dis AS (
		UPDATE endpoints SET disabled = true, updated_at = $14
		WHERE id = $16 AND NOT disabled AND $17::boolean
			AND (EXISTS (SELECT 1 FROM att) OR EXISTS (SELECT 1 FROM upd))
		RETURNING 1
	)
	SELECT (SELECT count(*) FROM att), (SELECT count(*) FROM dis), upd.app_id, upd.endpoint_id, upd.created_at
	FROM (SELECT 1) one LEFT JOIN upd ON true`

// inlineAttempt reports whether RecordAttempt may keep a on its delivery's
// row (if the delivery update happens): the first attempt, a success
// without an error message, so that the row holds all of it. (Issue 18:
// one write for the common case; see migration 00017.)
func inlineAttempt(a *hook.Attempt, status string) bool {
	return a.Number == 1 && status == hook.DeliverySucceeded && a.ErrorKind == "" && a.Error == ""
}

// recordAttemptOp is one RecordAttempt, run by the group writers.
type recordAttemptOp struct {
	opBase
	a      hook.Attempt // StartedAt at ms precision; DurationMillis set
	status string
	sched  int
	next   pgtype.Timestamptz
	now    time.Time
	owner  string
	epID   string
	off    bool // disable the endpoint
	inline bool // kept on the delivery's row if the update happens
	// stamp is the Store's lease set's, taken before the op ran: once
	// committed, the op forgets the owner's lease (see leases.go).
	stamp store.LeaseStamp

	// The delivery, when the op updated it (set afresh by each run):
	// what the rollups need.
	updated    bool
	updApp     string
	updEp      string
	updCreated time.Time
}

// rollup returns what the op adds to the rollups, if it updated its
// delivery.
func (op *recordAttemptOp) rollup() (store.AttemptRollup, bool) {
	if !op.updated {
		return store.AttemptRollup{}, false
	}
	return store.NewAttemptRollup(op.updApp, op.updEp, &op.a, op.a.DurationMillis, op.status, op.updCreated), true
}

// scanRecorded reads sqlRecordAttempt's answer.
func (op *recordAttemptOp) scanRecorded(row pgx.Row) error {
	var a, d int64
	var app, ep pgtype.Text
	var created pgtype.Timestamptz
	op.updated = false
	if err := row.Scan(&a, &d, &app, &ep, &created); err != nil {
		return err
	}
	if app.Valid {
		op.updated, op.updApp, op.updEp, op.updCreated = true, app.String, ep.String, created.Time
	}
	return nil
}

func (op *recordAttemptOp) sortKey() string { return "r\x00" + op.a.DeliveryID + "\x00" + op.a.ID }

func (op *recordAttemptOp) args() []any {
	a := &op.a
	return []any{a.ID, a.Number, a.Trigger, a.StartedAt, a.DurationMillis, a.ResponseStatus, a.ResponseBody,
		a.ErrorKind, a.Error, a.DeliveryID, op.status, op.sched, op.next, op.now, op.owner, op.epID, op.off}
}

// sql is the op's statement.
func (op *recordAttemptOp) sql() string {
	if op.inline {
		return sqlRecordAttemptInline
	}
	return sqlRecordAttempt
}

func (op *recordAttemptOp) queue(b *pgx.Batch) { b.Queue(op.sql(), op.args()...) }

func (op *recordAttemptOp) read(br pgx.BatchResults) error {
	return op.scanRecorded(br.QueryRow())
}

func (op *recordAttemptOp) finish(context.Context, pgx.Tx) error { return nil }

func (op *recordAttemptOp) alone(ctx context.Context, tx pgx.Tx) error {
	err := op.scanRecorded(tx.QueryRow(ctx, op.sql(), op.args()...))
	if uniqueViolation(err, "attempts_id_key") {
		return hook.Errorf(hook.EConflict, "id", "an attempt with id %q exists", op.a.ID)
	}
	if err != nil {
		return dbErr("record attempt", err)
	}
	return nil // the rollup joins Store.rollups once committed (runBatch)
}

func (op *recordAttemptOp) notify() (string, bool) { return "", false }

// RecordAttempt stores an attempt and, while p.Owner still holds the lease,
// what it decided for the delivery; the lease ends. If the delivery is gone
// it writes nothing and returns nil. A first-try success whose delivery
// update happens is kept on the delivery's row (see inlineAttempt); any
// other attempt is a row of attempts.
func (s *Store) RecordAttempt(ctx context.Context, p *store.RecordAttemptParams) error {
	if p.Attempt == nil {
		return hook.Errorf(hook.EInvalid, "attempt", "is required")
	}
	switch p.Decision.Status {
	case hook.DeliveryPending, hook.DeliverySucceeded, hook.DeliveryFailed:
	default:
		return hook.Errorf(hook.EInvalid, "decision.status", "%q is not a delivery status", p.Decision.Status)
	}
	a := *p.Attempt
	durMS := a.Duration.Milliseconds()
	if a.Duration == 0 {
		durMS = a.DurationMillis
	}
	var next pgtype.Timestamptz
	if p.Decision.Status == hook.DeliveryPending {
		next = nullTime(p.Decision.NextAttemptAt)
	}
	a.StartedAt, a.DurationMillis = ms(a.StartedAt), durMS
	// A receiver's answer may be any bytes, cut at a size.
	a.ResponseBody, a.Error = cleanText(a.ResponseBody), cleanText(a.Error)
	op := &recordAttemptOp{a: a, status: p.Decision.Status, sched: p.ScheduledAttempts, next: next,
		now: ms(p.Now), owner: p.Owner, epID: p.EndpointID, off: p.Decision.DisableEndpoint,
		inline: inlineAttempt(&a, p.Decision.Status),
		stamp:  s.leases.Stamp()}
	if op.off {
		// Other nodes see the endpoint disabled within fanoutCacheTTL.
		defer s.fanout.Invalidate()
	}
	return s.group(ctx, op)
}

// ReleaseDeliveries ends p.Owner's leases on p.IDs (all of them when IDs
// is empty: those this Store granted, see leases.go; along with the
// owner's endpoint slots: it is stopping), making those deliveries due at
// p.Now. It signals hookd_due with p.Owner.
func (s *Store) ReleaseDeliveries(ctx context.Context, p *store.ReleaseDeliveriesParams) error {
	now, owner := ms(p.Now), p.Owner
	ids, stamp, all := p.IDs, s.leases.Stamp(), len(p.IDs) == 0
	if all {
		ids, stamp = s.leases.IDs(owner)
	}
	err := s.tx(ctx, "release deliveries", func(tx pgx.Tx) error {
		n, err := releaseLeaseIDs(ctx, tx, now, owner, ids)
		if err != nil {
			return dbErr("release deliveries", err)
		}
		if all {
			if _, err := tx.Exec(ctx, `DELETE FROM endpoint_slots WHERE (endpoint_id, owner) IN (
					SELECT endpoint_id, owner FROM endpoint_slots WHERE owner = $1
					ORDER BY endpoint_id FOR UPDATE)`, owner); err != nil {
				return dbErr("release deliveries", err)
			}
		}
		if n > 0 {
			return notify(ctx, tx, owner)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.leases.Remove(owner, ids, stamp)
	return nil
}

// DiscardDeliveries deletes p.Owner's leased, unattempted, pending
// deliveries among p.IDs, and tells the other nodes (the next delivery of
// a FIFO endpoint may go now).
func (s *Store) DiscardDeliveries(ctx context.Context, p *store.DiscardDeliveriesParams) (int, error) {
	if len(p.IDs) == 0 {
		return 0, nil
	}
	stamp := s.leases.Stamp()
	var deleted []string
	err := s.tx(ctx, "discard deliveries", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM deliveries WHERE lease_owner = $1 AND status = 'pending'
			AND attempt_count = 0 AND id = ANY ($2) RETURNING id`, p.Owner, p.IDs)
		if err != nil {
			return dbErr("discard deliveries", err)
		}
		if deleted, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return dbErr("discard deliveries", err)
		}
		if len(deleted) > 0 {
			return notify(ctx, tx, p.Owner)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	// Those not deleted (attempted, or no longer leased to the owner)
	// stay in the set; a renewal drops them if need be.
	s.leases.Remove(p.Owner, deleted, stamp)
	return len(deleted), nil
}

// ReleaseAllLeases ends every lease, and drops every endpoint slot lease.
// Each released delivery becomes due at its scheduled next attempt time
// (which a leased delivery has reached), so the released ones keep their
// order; never later than now. It signals hookd_due.
//
// Only a process that knows it is alone on the database may call it.
func (s *Store) ReleaseAllLeases(ctx context.Context) (int, error) {
	now := ms(time.Now())
	stamp := s.leases.Stamp()
	var n int64
	err := s.tx(ctx, "release all leases", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE deliveries
			SET lease_owner = NULL, available_at = LEAST(COALESCE(next_attempt_at, $1), $1)
			WHERE lease_owner IS NOT NULL AND status = 'pending'`, now)
		if err != nil {
			return dbErr("release all leases", err)
		}
		n = tag.RowsAffected()
		if _, err := tx.Exec(ctx, `DELETE FROM endpoint_slots WHERE (endpoint_id, owner) IN (
				SELECT endpoint_id, owner FROM endpoint_slots ORDER BY endpoint_id, owner FOR UPDATE)`); err != nil {
			return dbErr("release all leases: slots", err)
		}
		if n > 0 {
			return notify(ctx, tx, "")
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	s.leases.RemoveAll(stamp)
	return int(n), nil
}

// RenewLeases extends every lease p.Owner holds to p.Until: its
// deliveries' (those this Store granted, found by id, see leases.go) and
// its endpoint slots'. It forgets the deliveries the owner no longer holds.
func (s *Store) RenewLeases(ctx context.Context, p *store.RenewLeasesParams) error {
	until, owner := ms(p.Until), p.Owner
	ids, stamp := s.leases.IDs(owner)
	var lost []string
	err := s.tx(ctx, "renew leases", func(tx pgx.Tx) error {
		var err error
		if lost, err = renewLeaseIDs(ctx, tx, until, owner, ids); err != nil {
			return dbErr("renew leases", err)
		}
		// In endpoint order, as LeaseSlots locks them.
		if _, err := tx.Exec(ctx, `UPDATE endpoint_slots SET lease_until = $1 WHERE (endpoint_id, owner) IN (
				SELECT endpoint_id, owner FROM endpoint_slots WHERE owner = $2 ORDER BY endpoint_id FOR UPDATE)`,
			until, owner); err != nil {
			return dbErr("renew leases: slots", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.leases.Remove(owner, lost, stamp)
	return nil
}

// NextDue returns the earliest time a pending delivery of an enabled
// endpoint becomes claimable. It costs one index probe per enabled
// endpoint, however many deliveries wait (disabled endpoints' backlogs
// included).
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	var v pgtype.Timestamptz
	err := s.pool.QueryRow(ctx, `SELECT min((SELECT d.available_at FROM deliveries d
			WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.available_at IS NOT NULL
			ORDER BY d.available_at LIMIT 1))
		FROM endpoints e WHERE NOT e.disabled`).Scan(&v)
	if err != nil {
		return time.Time{}, false, dbErr("next due", err)
	}
	if !v.Valid {
		return time.Time{}, false, nil
	}
	return v.Time.UTC(), true, nil
}

// CountPendingDeliveries counts deliveries not yet succeeded or failed.
func (s *Store) CountPendingDeliveries(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE status = 'pending'`).Scan(&n); err != nil {
		return 0, dbErr("count pending deliveries", err)
	}
	return n, nil
}

// sqlRecordAttemptsBulk is sqlRecordAttempt (or sqlRecordAttemptInline,
// where inline is set) for many attempts at once, each of a different
// delivery: parallel arrays, one element per attempt.
const sqlRecordAttemptsBulk = `WITH r AS (
		SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::int[], $5::text[], $6::timestamptz[],
			$7::bigint[], $8::int[], $9::text[], $10::text[], $11::text[], $12::text[], $13::int[],
			$14::timestamptz[], $15::timestamptz[], $16::text[], $17::text[], $18::boolean[], $19::boolean[])
			AS r (ord, id, delivery_id, number, trigger_kind, started_at, duration_ms, response_status,
				response_body, error_kind, error, status, sched, next_at, now, owner, endpoint_id, disable, inline)
	), upd AS (
		UPDATE deliveries d SET status = r.status, attempt_count = r.number, scheduled_attempts = r.sched,
			manual = false, last_attempt_at = r.started_at, last_response_status = r.response_status,
			next_attempt_at = r.next_at, available_at = r.next_at, lease_owner = NULL, updated_at = r.now,
			first_attempt_id = CASE WHEN r.inline THEN r.id ELSE d.first_attempt_id END,
			first_attempt_seq = CASE WHEN r.inline THEN nextval('attempts_seq_seq') ELSE d.first_attempt_seq END,
			first_trigger = CASE WHEN r.inline THEN r.trigger_kind ELSE d.first_trigger END,
			first_started_at = CASE WHEN r.inline THEN r.started_at ELSE d.first_started_at END,
			first_duration_ms = CASE WHEN r.inline THEN r.duration_ms ELSE d.first_duration_ms END,
			first_response_status = CASE WHEN r.inline THEN r.response_status ELSE d.first_response_status END,
			first_response_body = CASE WHEN r.inline THEN r.response_body ELSE d.first_response_body END
		FROM r
		WHERE d.id = r.delivery_id AND d.lease_owner = r.owner
		RETURNING r.ord, r.inline, d.app_id, d.endpoint_id, d.created_at
	), att AS (
		INSERT INTO attempts (id, delivery_id, app_id, number, trigger_kind, started_at, duration_ms,
			response_status, response_body, error_kind, error)
		SELECT r.id, d.id, d.app_id, r.number, r.trigger_kind, r.started_at, r.duration_ms, r.response_status,
			r.response_body, r.error_kind, r.error
		FROM r JOIN deliveries d ON d.id = r.delivery_id
		WHERE NOT EXISTS (SELECT 1 FROM upd WHERE upd.ord = r.ord AND upd.inline)
		ORDER BY r.ord
		RETURNING id
	), dis AS (
		UPDATE endpoints e SET disabled = true, updated_at = r.now
		FROM r
		WHERE e.id = r.endpoint_id AND r.disable AND NOT e.disabled
			AND (EXISTS (SELECT 1 FROM att WHERE att.id = r.id) OR EXISTS (SELECT 1 FROM upd WHERE upd.ord = r.ord))
		RETURNING 1
	)
	SELECT (SELECT count(*) FROM att), (SELECT count(*) FROM dis),
		coalesce(array_agg(upd.ord), '{}'), coalesce(array_agg(upd.app_id), '{}'),
		coalesce(array_agg(upd.endpoint_id), '{}'), coalesce(array_agg(upd.created_at), '{}')
	FROM upd`

// queueRecordAttempts queues one statement for all of ops, which are of
// different deliveries.
func queueRecordAttempts(b *pgx.Batch, ops []*recordAttemptOp) {
	n := len(ops)
	var (
		ord                            = make([]int32, n)
		id, dlv, trig, body, kind, msg = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		num, rstatus, sched            = make([]int32, n), make([]int32, n), make([]int32, n)
		started, now                   = make([]time.Time, n), make([]time.Time, n)
		dur                            = make([]int64, n)
		status, owner, ep              = make([]string, n), make([]string, n), make([]string, n)
		next                           = make([]pgtype.Timestamptz, n)
		off, inline                    = make([]bool, n), make([]bool, n)
	)
	for i, op := range ops {
		a := &op.a
		ord[i] = int32(i)
		id[i], dlv[i], num[i], trig[i], started[i], dur[i] = a.ID, a.DeliveryID, int32(a.Number), a.Trigger, a.StartedAt, a.DurationMillis
		rstatus[i], body[i], kind[i], msg[i] = int32(a.ResponseStatus), a.ResponseBody, a.ErrorKind, a.Error
		status[i], sched[i], next[i], now[i], owner[i], ep[i], off[i] = op.status, int32(op.sched), op.next, op.now, op.owner, op.epID, op.off
		inline[i] = op.inline
	}
	b.Queue(sqlRecordAttemptsBulk, ord, id, dlv, num, trig, started, dur, rstatus, body, kind, msg,
		status, sched, next, now, owner, ep, off, inline)
}

// readRecordAttempts reads queueRecordAttempts' answer into ops: which
// deliveries were updated, for the rollups.
func readRecordAttempts(br pgx.BatchResults, ops []*recordAttemptOp) error {
	var a, d int64
	var ord []int32
	var app, ep []string
	var created []time.Time
	if err := br.QueryRow().Scan(&a, &d, &ord, &app, &ep, &created); err != nil {
		return err
	}
	for _, op := range ops {
		op.updated = false
	}
	for i, o := range ord {
		if int(o) < len(ops) {
			op := ops[o]
			op.updated, op.updApp, op.updEp, op.updCreated = true, app[i], ep[i], created[i]
		}
	}
	return nil
}
