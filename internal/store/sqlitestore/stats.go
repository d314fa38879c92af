package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"modernc.org/sqlite"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

func init() {
	// hookd_latency_add(a, b) adds two encoded store.LatencyHistograms:
	// the rollups' upsert merges a batch's latencies into a stored row
	// without reading it first.
	sqlite.MustRegisterDeterministicScalarFunction("hookd_latency_add", 2,
		func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			var h store.LatencyHistogram
			for _, v := range args {
				switch b := v.(type) {
				case []byte:
					h = h.Add(store.UnmarshalLatencyHistogram(b))
				case string:
					h = h.Add(store.UnmarshalLatencyHistogram([]byte(b)))
				}
			}
			return h.MarshalBinary()
		})
}

// sqlUpsertRollup adds one merged store.AttemptRollup to its row. The
// last-attempt fields are replaced unless the stored attempt started later.
const sqlUpsertRollup = `INSERT INTO delivery_rollups (app_id, endpoint_id, minute, succeeded, failed_attempts,
		exhausted, latency, last_at, last_ok, last_status, last_error_kind, last_error)
	VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
	ON CONFLICT (endpoint_id, minute) DO UPDATE SET
		succeeded = succeeded + excluded.succeeded,
		failed_attempts = failed_attempts + excluded.failed_attempts,
		exhausted = exhausted + excluded.exhausted,
		latency = IIF(length(excluded.latency) = 0, latency, hookd_latency_add(latency, excluded.latency)),
		last_ok = IIF(excluded.last_at >= last_at, excluded.last_ok, last_ok),
		last_status = IIF(excluded.last_at >= last_at, excluded.last_status, last_status),
		last_error_kind = IIF(excluded.last_at >= last_at, excluded.last_error_kind, last_error_kind),
		last_error = IIF(excluded.last_at >= last_at, excluded.last_error, last_error),
		last_at = MAX(excluded.last_at, last_at)`

// sqlUpsertAppRollup adds one store.MergeAppRollups row to its row.
const sqlUpsertAppRollup = `INSERT INTO app_rollups (minute, app_id, succeeded, failed_attempts, exhausted, latency)
	VALUES (?1, ?2, ?3, ?4, ?5, ?6)
	ON CONFLICT (minute, app_id) DO UPDATE SET
		succeeded = succeeded + excluded.succeeded,
		failed_attempts = failed_attempts + excluded.failed_attempts,
		exhausted = exhausted + excluded.exhausted,
		latency = IIF(length(excluded.latency) = 0, latency, hookd_latency_add(latency, excluded.latency))`

// writeRollups writes rollups: one upsert per (endpoint, minute) and one
// per (app, minute).
func (s *Store) writeRollups(tx *sql.Tx, rs []store.AttemptRollup) error {
	ctx := context.Background()
	ep := tx.StmtContext(ctx, s.stmts.upsertRollup)
	for _, r := range store.MergeRollups(rs) {
		s.nRollupRows.Add(1)
		lat, _ := r.Latency.MarshalBinary()
		if _, err := ep.ExecContext(ctx, r.AppID, r.EndpointID, r.Minute, r.Succeeded, r.FailedAttempts,
			r.Exhausted, lat, r.LastAt, boolInt(r.LastOK), r.LastStatus, r.LastKind, r.LastMessage); err != nil {
			return err
		}
	}
	app := tx.StmtContext(ctx, s.stmts.upsertAppRollup)
	for _, r := range store.MergeAppRollups(rs) {
		s.nRollupRows.Add(1)
		lat, _ := r.Latency.MarshalBinary()
		if _, err := app.ExecContext(ctx, r.Minute, r.AppID, r.Succeeded, r.FailedAttempts, r.Exhausted, lat); err != nil {
			return err
		}
	}
	return nil
}

// Stats answers p from the rollups (flushed first: see rollups.go), the
// pending deliveries' partial indexes, and one rollup probe per endpoint
// of the scope.
func (s *Store) Stats(ctx context.Context, p *store.StatsParams) (*store.Stats, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := s.flushBeforeRead(ctx); err != nil {
		return nil, err
	}
	appID := p.AppID
	if p.EndpointID != "" {
		var epApp string
		err := s.rdb.QueryRowContext(ctx, `SELECT app_id FROM endpoints WHERE id = ?1 AND (?2 = '' OR app_id = ?2)`,
			p.EndpointID, p.AppID).Scan(&epApp)
		if err == sql.ErrNoRows {
			return nil, hook.Errorf(hook.ENotFound, "endpoint", "no endpoint %q", p.EndpointID)
		}
		if err != nil {
			return nil, dbErr("stats: endpoint", err)
		}
		appID = epApp
	}
	// One read transaction, so that the parts agree.
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, dbErr("stats", err)
	}
	defer func() { _ = tx.Rollback() }()

	folder := store.NewStatsFolder(p)
	n, start := p.BucketCount()
	from, to := ms(start), ms(start)+int64(n)*p.Bucket.Milliseconds()
	var table, scope string
	var arg any
	switch {
	case p.EndpointID != "":
		table, scope, arg = "delivery_rollups", `endpoint_id = ?3`, p.EndpointID
	case appID != "":
		table, scope, arg = "app_rollups", `app_id = ?3`, appID
	default:
		table, scope, arg = "app_rollups", `?3 = ''`, ""
	}
	rows, err := tx.QueryContext(ctx, `SELECT minute, succeeded, failed_attempts, exhausted, latency
		FROM `+table+` WHERE minute >= ?1 AND minute < ?2 AND `+scope, from, to, arg)
	if err != nil {
		return nil, dbErr("stats: rollups", err)
	}
	defer rows.Close()
	for rows.Next() {
		var minute, succ, failed, exh int64
		var lat []byte
		if err := rows.Scan(&minute, &succ, &failed, &exh, &lat); err != nil {
			return nil, dbErr("stats: rollups", err)
		}
		folder.Add(minute, succ, failed, exh, store.UnmarshalLatencyHistogram(lat))
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("stats: rollups", err)
	}
	rows.Close()
	res := &store.Stats{Buckets: folder.Buckets(), Troubled: []store.TroubledEndpoint{}}

	// The endpoints of the scope, as a condition on e.
	var epScope string
	switch {
	case p.EndpointID != "":
		epScope = `e.id = ?1`
		arg = p.EndpointID
	case appID != "":
		epScope = `e.app_id = ?1`
		arg = appID
	default:
		epScope = `?1 = ''`
		arg = ""
	}
	// The pending deliveries, endpoint by endpoint through the partial
	// index deliveries_claim.
	var pending, due sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT SUM(p), SUM(d) FROM (SELECT
			(SELECT COUNT(*) FROM deliveries d WHERE d.status = 'pending' AND d.endpoint_id = e.id) AS p,
			IIF(e.disabled, 0, (SELECT COUNT(*) FROM deliveries d WHERE d.status = 'pending' AND d.endpoint_id = e.id
				AND d.available_at <= ?2)) AS d
		FROM endpoints e WHERE `+epScope+`)`, arg, ms(p.Now)).Scan(&pending, &due); err != nil {
		return nil, dbErr("stats: backlog", err)
	}
	res.Backlog = store.Backlog{Pending: pending.Int64, DueNow: due.Int64}

	trows, err := tx.QueryContext(ctx, `SELECT e.id, COALESCE(e.uid, ''), e.app_id, e.url, e.disabled,
			r.last_at, COALESCE(r.last_status, 0), COALESCE(r.last_error_kind, ''), COALESCE(r.last_error, ''),
			IIF(e.disabled, NULL, (SELECT d.available_at FROM deliveries d
				WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.available_at IS NOT NULL
				ORDER BY d.available_at LIMIT 1)),
			IIF(e.circuit_open_until > ?3, e.circuit_open_until, NULL)
		FROM endpoints e
		LEFT JOIN delivery_rollups r ON r.endpoint_id = e.id
			AND r.minute = (SELECT MAX(r2.minute) FROM delivery_rollups r2 WHERE r2.endpoint_id = e.id)
		WHERE `+epScope+` AND (e.disabled OR r.last_ok = 0 OR e.circuit_open_until > ?3)
		ORDER BY e.disabled DESC, COALESCE(e.circuit_open_until > ?3, 0) DESC, r.last_at DESC, e.seq DESC
		LIMIT ?2`, arg, store.StatsMaxTroubled, ms(p.Now))
	if err != nil {
		return nil, dbErr("stats: endpoints", err)
	}
	defer trows.Close()
	for trows.Next() {
		var t store.TroubledEndpoint
		var disabled bool
		var last, next, circuit sql.NullInt64
		if err := trows.Scan(&t.EndpointID, &t.EndpointUID, &t.AppID, &t.URL, &disabled, &last,
			&t.LastResponseStatus, &t.LastErrorKind, &t.LastError, &next, &circuit); err != nil {
			return nil, dbErr("stats: endpoints", err)
		}
		t.LastAttemptAt, t.NextAttemptAt, t.CircuitOpenUntil = timePtr(last), timePtr(next), timePtr(circuit)
		t.State = store.TroubledState(disabled, t.CircuitOpenUntil)
		res.Troubled = append(res.Troubled, t)
	}
	if err := trows.Err(); err != nil {
		return nil, dbErr("stats: endpoints", err)
	}
	return res, nil
}

// purgeRollups deletes the rollup rows of minutes before before (Unix ms).
func purgeRollups(ctx context.Context, tx *sql.Tx, before int64) error {
	for _, q := range []string{`DELETE FROM delivery_rollups WHERE minute < ?1`, `DELETE FROM app_rollups WHERE minute < ?1`} {
		if _, err := tx.ExecContext(ctx, q, before); err != nil {
			return fmt.Errorf("purge rollups: %w", err)
		}
	}
	return nil
}
