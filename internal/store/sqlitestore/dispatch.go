package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// claimRow is a delivery picked by ClaimDeliveries.
type claimRow struct {
	seq, eventSeq   int64
	id              string
	attempts, sched int
	manual          bool
}

// ClaimDeliveries leases due deliveries to p.Owner until p.LeaseUntil.
//
// It first finds the enabled endpoints (not in p.ExcludeEndpoints) that have
// a claimable delivery, one index probe each, visiting them in seq order
// starting after the endpoint the previous claim served last, so that no
// endpoint is always served last. From each it takes its oldest-due
// claimable deliveries, at most p.PerEndpoint (p.Limit if zero), until
// p.Limit in all. A large backlog on one endpoint costs only the rows taken.
// p.Limit of zero or less claims nothing.
func (s *Store) ClaimDeliveries(ctx context.Context, p *store.ClaimDeliveriesParams) (*store.ClaimResult, error) {
	res := &store.ClaimResult{Jobs: []*store.Job{}, Endpoints: map[string]*hook.Endpoint{}, Apps: map[string]*hook.App{}}
	limit := p.Limit
	if limit <= 0 {
		return res, nil
	}
	per := p.PerEndpoint
	if per <= 0 || per > limit {
		per = limit
	}
	now, until, owner := ms(p.Now), ms(p.LeaseUntil), p.Owner
	exclude := jsonIDs(p.ExcludeEndpoints)
	listen := jsonIDs(p.ListenEndpoints)

	err := s.writeThen(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res.Jobs = res.Jobs[:0]
		clear(res.Endpoints)

		type epRef struct {
			seq  int64
			id   string
			fifo bool
		}
		var eps []epRef
		find := func(stmt *sql.Stmt, n int) error {
			rows, err := tx.StmtContext(ctx, stmt).QueryContext(ctx, s.claimAfter, exclude, now, n, listen)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var e epRef
				if err := rows.Scan(&e.seq, &e.id, &e.fifo); err != nil {
					return err
				}
				eps = append(eps, e)
			}
			return rows.Err()
		}
		// Each endpoint found has at least one claimable delivery, so
		// limit endpoints are always enough.
		if err := find(s.stmts.claimEndpointsAfter, limit); err != nil {
			return dbErr("claim deliveries: endpoints", err)
		}
		if len(eps) < limit && s.claimAfter > 0 {
			if err := find(s.stmts.claimEndpointsUpTo, limit-len(eps)); err != nil {
				return dbErr("claim deliveries: endpoints", err)
			}
		}

		sel := tx.StmtContext(ctx, s.stmts.claimSelect)
		selFIFO := tx.StmtContext(ctx, s.stmts.claimSelectFIFO)
		upd := tx.StmtContext(ctx, s.stmts.claimUpdate)
		byEvent := map[int64][]*store.Job{}
		var served []string
		lastSeq := s.claimAfter
		var picked []claimRow
		for _, ep := range eps {
			if len(res.Jobs) >= limit {
				break
			}
			picked = picked[:0]
			var rows *sql.Rows
			var err error
			if ep.fifo {
				rows, err = selFIFO.QueryContext(ctx, ep.id, now)
			} else {
				rows, err = sel.QueryContext(ctx, ep.id, now, min(per, limit-len(res.Jobs)))
			}
			if err != nil {
				return dbErr("claim deliveries", err)
			}
			for rows.Next() {
				var r claimRow
				if err := rows.Scan(&r.seq, &r.id, &r.eventSeq, &r.attempts, &r.sched, &r.manual); err != nil {
					rows.Close()
					return dbErr("claim deliveries", err)
				}
				picked = append(picked, r)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return dbErr("claim deliveries", err)
			}
			for _, r := range picked {
				if _, err := upd.ExecContext(ctx, owner, until, r.seq); err != nil {
					return dbErr("claim deliveries: lease", err)
				}
				job := &store.Job{
					DeliveryID: r.id, EndpointID: ep.id,
					AttemptCount: r.attempts, ScheduledAttempts: r.sched, Manual: r.manual,
				}
				res.Jobs = append(res.Jobs, job)
				byEvent[r.eventSeq] = append(byEvent[r.eventSeq], job)
			}
			if len(picked) > 0 {
				served = append(served, ep.id)
				lastSeq = ep.seq
			}
		}
		if len(res.Jobs) == 0 {
			return nil
		}
		s.claimAfter = lastSeq // only the writer goroutine runs this

		// Each event once, shared by its jobs.
		seqs := make([]int64, 0, len(byEvent))
		for seq := range byEvent {
			seqs = append(seqs, seq)
		}
		rows, err := tx.StmtContext(ctx, s.stmts.loadEvents).QueryContext(ctx, jsonInts(seqs))
		if err != nil {
			return dbErr("claim deliveries: events", err)
		}
		defer rows.Close()
		for rows.Next() {
			ev, seq, err := scanEvent(rows)
			if err != nil {
				return dbErr("claim deliveries: events", err)
			}
			for _, j := range byEvent[seq] {
				j.Event = ev
			}
		}
		if err := rows.Err(); err != nil {
			return dbErr("claim deliveries: events", err)
		}
		rows.Close()

		erows, err := tx.StmtContext(ctx, s.stmts.loadEndpoints).QueryContext(ctx, jsonIDs(served))
		if err != nil {
			return dbErr("claim deliveries: endpoints", err)
		}
		defer erows.Close()
		for erows.Next() {
			e, _, err := s.scanEndpoint(erows)
			if err != nil {
				return dbErr("claim deliveries: endpoints", err)
			}
			res.Endpoints[e.ID] = e
		}
		if err := erows.Err(); err != nil {
			return dbErr("claim deliveries: endpoints", err)
		}
		erows.Close()

		appIDs := make([]string, 0, 1)
		for _, e := range res.Endpoints {
			if !slices.Contains(appIDs, e.AppID) {
				appIDs = append(appIDs, e.AppID)
			}
		}
		arows, err := tx.StmtContext(ctx, s.stmts.loadApps).QueryContext(ctx, jsonIDs(appIDs))
		if err != nil {
			return dbErr("claim deliveries: apps", err)
		}
		defer arows.Close()
		for arows.Next() {
			a, _, err := scanApp(arows)
			if err != nil {
				return dbErr("claim deliveries: apps", err)
			}
			res.Apps[a.ID] = a
		}
		return arows.Err()
	}, func() {
		ids := make([]string, len(res.Jobs))
		for i, j := range res.Jobs {
			ids[i] = j.DeliveryID
		}
		s.leases.Add(owner, ids)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// RecordAttempt stores an attempt and, while p.Owner still holds the lease,
// what it decided for the delivery; the lease ends. If the delivery is gone
// it writes nothing and returns nil. A first-try success whose delivery
// update happens is kept on the delivery's row (see inline.go); any other
// attempt is a row of attempts.
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
	var next sql.NullInt64
	if p.Decision.Status == hook.DeliveryPending {
		next = sql.NullInt64{Int64: ms(p.Decision.NextAttemptAt), Valid: true}
	}
	started, now := ms(a.StartedAt), ms(p.Now)
	status, sched, owner := p.Decision.Status, p.ScheduledAttempts, p.Owner
	disable, endpointID := p.Decision.DisableEndpoint, p.EndpointID
	if disable {
		defer s.fanout.Invalidate()
	}

	inline := inlineAttempt(&a, status)

	roll := &attemptRollup{}
	// Whatever it decided, the lease is over (or was already).
	ended := func() { s.forgetLeases(owner, []string{a.DeliveryID}) }
	return classify(s.submit(ctx, &writeOp{ctx: ctx, done: make(chan error, 1), rollup: roll, committed: ended, fn: func(ctx context.Context, tx *sql.Tx) error {
		roll.set = false
		seq := s.nextAttemptSeq()
		var appID, epID string
		var created int64
		updated := func() {
			roll.r = store.NewAttemptRollup(appID, epID, &a, durMS, status, fromMS(created))
			roll.set = true
		}
		// A first-try success goes on the delivery's row, if the
		// owner still holds the lease; otherwise it is a row, as any
		// other attempt.
		wrote := false
		if inline {
			err := tx.StmtContext(ctx, s.stmts.updateDeliveryInline).QueryRowContext(ctx,
				status, a.Number, sched, started, a.ResponseStatus, next, now, a.DeliveryID, owner,
				a.ID, seq, a.Trigger, durMS, a.ResponseBody).Scan(&appID, &epID, &created)
			switch {
			case errors.Is(err, sql.ErrNoRows): // the lease was lost, or the delivery is gone
			case err != nil:
				return dbErr("record attempt: delivery", err)
			default:
				updated()
				wrote = true
			}
		}
		if !wrote {
			r, err := tx.StmtContext(ctx, s.stmts.insertAttempt).ExecContext(ctx,
				a.ID, a.Number, a.Trigger, started, durMS, a.ResponseStatus, a.ResponseBody, a.ErrorKind, a.Error,
				a.DeliveryID, seq)
			if uniqueViolation(err, "attempts.id") {
				return hook.Errorf(hook.EConflict, "id", "an attempt with id %q exists", a.ID)
			}
			if err != nil {
				return dbErr("record attempt", err)
			}
			if n, _ := r.RowsAffected(); n == 0 {
				return nil // the delivery was deleted
			}
		}
		if !inline {
			err := tx.StmtContext(ctx, s.stmts.updateDelivery).QueryRowContext(ctx,
				status, a.Number, sched, started, a.ResponseStatus, next, now, a.DeliveryID, owner).Scan(&appID, &epID, &created)
			switch {
			case errors.Is(err, sql.ErrNoRows): // the lease was lost: no decision, no rollup
			case err != nil:
				return dbErr("record attempt: delivery", err)
			default:
				updated()
			}
		}
		if disable && endpointID != "" {
			if _, err := tx.StmtContext(ctx, s.stmts.disableEp).ExecContext(ctx, now, endpointID); err != nil {
				return dbErr("record attempt: disable endpoint", err)
			}
		}
		return nil
	}}))
}

// ReleaseDeliveries ends p.Owner's leases on p.IDs (all of them when IDs
// is empty: those the store remembers, see leases.go), making those
// deliveries due at p.Now.
func (s *Store) ReleaseDeliveries(ctx context.Context, p *store.ReleaseDeliveriesParams) error {
	now, owner := ms(p.Now), p.Owner
	var ids []string
	return s.writeThen(ctx, func(ctx context.Context, tx *sql.Tx) error {
		ids = p.IDs
		if len(ids) == 0 {
			ids, _ = s.leases.IDs(owner)
		}
		if len(ids) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, sqlReleaseIDs, now, owner, jsonIDs(ids)); err != nil {
			return dbErr("release deliveries", err)
		}
		return nil
	}, func() { s.forgetLeases(owner, ids) })
}

// DiscardDeliveries deletes p.Owner's leased, unattempted, pending
// deliveries among p.IDs.
func (s *Store) DiscardDeliveries(ctx context.Context, p *store.DiscardDeliveriesParams) (int, error) {
	if len(p.IDs) == 0 {
		return 0, nil
	}
	var deleted map[string]bool
	err := s.writeThen(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		deleted, err = queryIDs(ctx, tx, `DELETE FROM deliveries WHERE id IN (SELECT value FROM json_each(?2))
			AND lease_owner = ?1 AND status = 'pending' AND attempt_count = 0 RETURNING id`, p.Owner, jsonIDs(p.IDs))
		if err != nil {
			return dbErr("discard deliveries", err)
		}
		return nil
	}, func() {
		// Those not deleted (attempted, or no longer leased to the
		// owner) stay in the set; a renewal drops them if need be.
		s.forgetLeases(p.Owner, slices.Collect(maps.Keys(deleted)))
	})
	if err != nil {
		return 0, err
	}
	return len(deleted), nil
}

// ReleaseAllLeases ends every lease. Each released delivery becomes due at
// its scheduled next attempt time (which a leased delivery has reached), so
// the released ones keep their order; never later than now.
func (s *Store) ReleaseAllLeases(ctx context.Context) (int, error) {
	now := ms(time.Now())
	var n int64
	err := s.writeThen(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, sqlReleaseAll, now)
		if err != nil {
			return dbErr("release all leases", err)
		}
		n, err = res.RowsAffected()
		return err
	}, func() { s.leases.RemoveAll(s.leases.Stamp()) })
	if err != nil {
		return 0, err
	}
	return int(n), nil
}

// RenewLeases extends every lease p.Owner holds to p.Until. It finds them
// by id among those the store remembers (see leases.go), and forgets the
// ones the owner no longer holds.
func (s *Store) RenewLeases(ctx context.Context, p *store.RenewLeasesParams) error {
	until, owner := ms(p.Until), p.Owner
	var lost []string
	return s.writeThen(ctx, func(ctx context.Context, tx *sql.Tx) error {
		lost = nil
		ids, _ := s.leases.IDs(owner)
		if len(ids) == 0 {
			return nil
		}
		held, err := queryIDs(ctx, tx, sqlRenew, until, owner, jsonIDs(ids))
		if err != nil {
			return dbErr("renew leases", err)
		}
		for _, id := range ids {
			if !held[id] {
				lost = append(lost, id)
			}
		}
		return nil
	}, func() { s.forgetLeases(owner, lost) })
}

// queryIDs runs q, whose rows are ids, and returns them.
func queryIDs(ctx context.Context, tx *sql.Tx, q string, args ...any) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// NextDue returns the earliest time a pending delivery of an enabled
// endpoint becomes claimable. It costs one index probe per enabled
// endpoint, however many deliveries wait (disabled endpoints' backlogs
// included).
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	var v sql.NullInt64
	err := s.rdb.QueryRowContext(ctx, sqlNextDue).Scan(&v)
	if err != nil {
		return time.Time{}, false, dbErr("next due", err)
	}
	if !v.Valid {
		return time.Time{}, false, nil
	}
	return fromMS(v.Int64), true, nil
}

// CountPendingDeliveries counts deliveries not yet succeeded or failed.
func (s *Store) CountPendingDeliveries(ctx context.Context) (int64, error) {
	var n int64
	if err := s.rdb.QueryRowContext(ctx, sqlCountPending).Scan(&n); err != nil {
		return 0, dbErr("count pending deliveries", err)
	}
	return n, nil
}
