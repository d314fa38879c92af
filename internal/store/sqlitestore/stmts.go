package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// stmts are the hot statements, prepared once on the write connection and
// bound to each batch's transaction with tx.StmtContext.
type stmts struct {
	insertEvent    *sql.Stmt
	insertDelivery *sql.Stmt

	claimEndpointsAfter *sql.Stmt
	claimEndpointsUpTo  *sql.Stmt
	claimSelect         *sql.Stmt
	claimSelectFIFO     *sql.Stmt
	claimUpdate         *sql.Stmt
	loadEvents          *sql.Stmt
	loadEndpoints       *sql.Stmt
	loadApps            *sql.Stmt

	insertAttempt        *sql.Stmt
	updateDelivery       *sql.Stmt
	updateDeliveryInline *sql.Stmt
	disableEp            *sql.Stmt
	// The rollups' upserts (see writeRollups).
	upsertRollup    *sql.Stmt
	upsertAppRollup *sql.Stmt

	all []*sql.Stmt
}

// The hot statements. Claimable means status = 'pending' AND available_at
// <= now; the literal 'pending' lets SQLite use the partial indexes.
// plan_test.go checks which index each one uses.
const (
	// The app must exist; its seq is the event's app_seq (see migration
	// 00020), returned for the deliveries.
	sqlInsertEvent = `INSERT INTO events (app_id, id, type, data, created_at, previous_attributes, livemode,
			request_id, api_version, app_seq)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, a.seq FROM apps a WHERE a.id = ?1
		ON CONFLICT (app_id, id) DO NOTHING
		RETURNING seq, app_seq`

	// The endpoint must exist and belong to the event's app; ?11 is the
	// app's seq.
	sqlInsertDelivery = `INSERT INTO deliveries (id, app_id, event_seq, event_id, event_type, endpoint_id,
			status, next_attempt_at, available_at, lease_owner, created_at, updated_at, livemode,
			app_seq, endpoint_seq)
		SELECT ?1, ?2, ?3, ?4, ?5, e.id, 'pending', ?6, ?7, ?8, ?6, ?6, ?10, ?11, e.seq
		FROM endpoints e WHERE e.id = ?9 AND e.app_id = ?2`

	// Enabled endpoints with a claimable delivery: one probe of
	// deliveries_claim each. %s is > (after the last one served) or <=
	// (wrapping around). A listen endpoint is claimed only by the node
	// holding its stream (?5 lists those).
	sqlClaimEndpoints = `SELECT e.seq, e.id, e.ordering = 'fifo' FROM endpoints e
		WHERE e.disabled = 0 AND e.seq %s ?1
		  AND e.id NOT IN (SELECT value FROM json_each(?2))
		  AND (e.kind <> 'listen' OR e.id IN (SELECT value FROM json_each(?5)))
		  AND EXISTS (SELECT 1 FROM deliveries d
		              WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.available_at <= ?3)
		ORDER BY e.seq LIMIT ?4`

	sqlClaimSelect = `SELECT seq, id, event_seq, attempt_count, scheduled_attempts, manual
		FROM deliveries
		WHERE endpoint_id = ?1 AND status = 'pending' AND available_at <= ?2
		ORDER BY available_at LIMIT ?3`

	// A FIFO endpoint gives only its oldest pending delivery, and only
	// when that one is claimable: while it waits for a retry or is in
	// flight, the ones after it wait too.
	sqlClaimSelectFIFO = `SELECT seq, id, event_seq, attempt_count, scheduled_attempts, manual FROM (
			SELECT seq, id, event_seq, attempt_count, scheduled_attempts, manual, available_at
			FROM deliveries WHERE endpoint_id = ?1 AND status = 'pending' ORDER BY seq LIMIT 1)
		WHERE available_at <= ?2`

	sqlClaimUpdate = `UPDATE deliveries SET lease_owner = ?1, available_at = ?2 WHERE seq = ?3`

	sqlLoadEvents = `SELECT ` + eventCols + ` FROM events WHERE seq IN (SELECT value FROM json_each(?1))`

	sqlLoadEndpoints = `SELECT ` + endpointCols + ` FROM endpoints WHERE id IN (SELECT value FROM json_each(?1))`

	sqlLoadApps = `SELECT ` + appCols + ` FROM apps WHERE id IN (SELECT value FROM json_each(?1))`

	// Written only if the delivery still exists; ?11 is its seq (see
	// nextAttemptSeq).
	sqlInsertAttempt = `INSERT INTO attempts (seq, id, delivery_id, app_id, number, trigger_kind, started_at, duration_ms,
			response_status, response_body, error_kind, error)
		SELECT ?11, ?1, d.id, d.app_id, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 FROM deliveries d WHERE d.id = ?10`

	// Only while the lease is held.
	sqlUpdateDelivery = `UPDATE deliveries SET status = ?1, attempt_count = ?2, scheduled_attempts = ?3,
			manual = 0, last_attempt_at = ?4, last_response_status = ?5, next_attempt_at = ?6,
			available_at = ?6, lease_owner = NULL, updated_at = ?7
		WHERE id = ?8 AND lease_owner = ?9
		RETURNING app_id, endpoint_id, created_at`

	sqlDisableEndpoint = `UPDATE endpoints SET disabled = 1, updated_at = ?1 WHERE id = ?2 AND disabled = 0`

	// Leases are found by id (see leases.go): there is no index on
	// lease_owner.
	sqlReleaseIDs = `UPDATE deliveries SET lease_owner = NULL, available_at = ?1
		WHERE id IN (SELECT value FROM json_each(?3)) AND lease_owner = ?2 AND status = 'pending'`

	// A leased delivery's next_attempt_at has passed; MIN guards the rest.
	// Run at start: it reads the pending deliveries from a partial index
	// on them (deliveries_pending_seq), not the whole table.
	sqlReleaseAll = `UPDATE deliveries SET lease_owner = NULL, available_at = MIN(COALESCE(next_attempt_at, ?1), ?1)
		WHERE lease_owner IS NOT NULL AND status = 'pending'`

	// ?3 is the ids the owner may hold leases on; it returns those it
	// does.
	sqlRenew = `UPDATE deliveries SET available_at = ?1
		WHERE id IN (SELECT value FROM json_each(?3)) AND lease_owner = ?2 AND status = 'pending'
		RETURNING id`

	// One probe of deliveries_claim per enabled endpoint, however large
	// the backlogs (of disabled endpoints too).
	sqlNextDue = `SELECT MIN((SELECT d.available_at FROM deliveries d
		             WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.available_at IS NOT NULL
		             ORDER BY d.available_at LIMIT 1))
		FROM endpoints e WHERE e.disabled = 0`

	sqlCountPending = `SELECT COUNT(*) FROM deliveries WHERE status = 'pending'`
)

func (s *Store) prepare(ctx context.Context) error {
	st := &s.stmts
	var errs []error
	prep := func(q string) *sql.Stmt {
		stmt, err := s.wdb.PrepareContext(ctx, q)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w in %s", err, q))
			return nil
		}
		st.all = append(st.all, stmt)
		return stmt
	}
	st.insertEvent = prep(sqlInsertEvent)
	st.insertDelivery = prep(sqlInsertDelivery)
	st.claimEndpointsAfter = prep(fmt.Sprintf(sqlClaimEndpoints, ">"))
	st.claimEndpointsUpTo = prep(fmt.Sprintf(sqlClaimEndpoints, "<="))
	st.claimSelect = prep(sqlClaimSelect)
	st.claimSelectFIFO = prep(sqlClaimSelectFIFO)
	st.claimUpdate = prep(sqlClaimUpdate)
	st.loadEvents = prep(sqlLoadEvents)
	st.loadEndpoints = prep(sqlLoadEndpoints)
	st.loadApps = prep(sqlLoadApps)
	st.insertAttempt = prep(sqlInsertAttempt)
	st.updateDelivery = prep(sqlUpdateDelivery)
	st.updateDeliveryInline = prep(sqlUpdateDeliveryInline)
	st.disableEp = prep(sqlDisableEndpoint)
	st.upsertRollup = prep(sqlUpsertRollup)
	st.upsertAppRollup = prep(sqlUpsertAppRollup)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlitestore: prepare: %w", err)
	}
	return nil
}

func (st *stmts) close() {
	for _, s := range st.all {
		_ = s.Close()
	}
	st.all = nil
}
