package pgstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// sqlUpsertRollups adds a batch's merged store.AttemptRollups to their
// rows, one row per (endpoint, minute), in key order so that concurrent
// writers lock rows in the same order. The last-attempt fields are
// replaced unless the stored attempt started later.
const sqlUpsertRollups = `INSERT INTO delivery_rollups AS r (app_id, endpoint_id, minute, succeeded, failed_attempts,
		exhausted, latency, last_at, last_ok, last_status, last_error_kind, last_error)
	SELECT x.app_id, x.endpoint_id, x.minute, x.succeeded, x.failed_attempts, x.exhausted,
		coalesce((SELECT array_agg(v ORDER BY n) FROM unnest(string_to_array(x.latency, ',')::bigint[]) WITH ORDINALITY AS l (v, n)), '{}'),
		x.last_at, x.last_ok, x.last_status, x.last_error_kind, x.last_error
	FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[],
		$8::timestamptz[], $9::boolean[], $10::int[], $11::text[], $12::text[])
		AS x (app_id, endpoint_id, minute, succeeded, failed_attempts, exhausted, latency, last_at, last_ok,
			last_status, last_error_kind, last_error)
	ORDER BY x.endpoint_id, x.minute
	ON CONFLICT (endpoint_id, minute) DO UPDATE SET
		succeeded = r.succeeded + excluded.succeeded,
		failed_attempts = r.failed_attempts + excluded.failed_attempts,
		exhausted = r.exhausted + excluded.exhausted,
		latency = CASE WHEN cardinality(excluded.latency) = 0 THEN r.latency
			ELSE hookd_latency_add(r.latency, excluded.latency) END,
		last_ok = CASE WHEN excluded.last_at >= r.last_at THEN excluded.last_ok ELSE r.last_ok END,
		last_status = CASE WHEN excluded.last_at >= r.last_at THEN excluded.last_status ELSE r.last_status END,
		last_error_kind = CASE WHEN excluded.last_at >= r.last_at THEN excluded.last_error_kind ELSE r.last_error_kind END,
		last_error = CASE WHEN excluded.last_at >= r.last_at THEN excluded.last_error ELSE r.last_error END,
		last_at = greatest(excluded.last_at, r.last_at)`

// batchSender is a pool or a transaction.
type batchSender interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// writeRollups writes rollups, merged first: one statement for the rows
// of (endpoint, minute), one for those of (app, minute), sent together.
func writeRollups(ctx context.Context, q batchSender, rs []store.AttemptRollup) error {
	if len(rs) == 0 {
		return nil
	}
	ms := store.MergeRollups(rs)
	n := len(ms)
	var (
		app, ep, lat, kind, msg = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		minute, last            = make([]time.Time, n), make([]time.Time, n)
		succ, failed, exh       = make([]int64, n), make([]int64, n), make([]int64, n)
		ok                      = make([]bool, n)
		status                  = make([]int32, n)
	)
	for i, r := range ms {
		app[i], ep[i], minute[i] = r.AppID, r.EndpointID, time.UnixMilli(r.Minute).UTC()
		succ[i], failed[i], exh[i] = r.Succeeded, r.FailedAttempts, r.Exhausted
		lat[i] = latencyText(r.Latency)
		last[i], ok[i], status[i], kind[i], msg[i] = time.UnixMilli(r.LastAt).UTC(), r.LastOK, int32(r.LastStatus), r.LastKind, cleanText(r.LastMessage)
	}
	b := &pgx.Batch{}
	b.Queue(sqlUpsertRollups, app, ep, minute, succ, failed, exh, lat, last, ok, status, kind, msg)
	as := store.MergeAppRollups(rs)
	n = len(as)
	app, minute, lat = make([]string, n), make([]time.Time, n), make([]string, n)
	succ, failed, exh = make([]int64, n), make([]int64, n), make([]int64, n)
	for i, r := range as {
		app[i], minute[i], lat[i] = r.AppID, time.UnixMilli(r.Minute).UTC(), latencyText(r.Latency)
		succ[i], failed[i], exh[i] = r.Succeeded, r.FailedAttempts, r.Exhausted
	}
	b.Queue(sqlUpsertAppRollups, minute, app, succ, failed, exh, lat)
	return q.SendBatch(ctx, b).Close()
}

// sqlUpsertAppRollups adds a batch's store.MergeAppRollups to their rows,
// in key order.
const sqlUpsertAppRollups = `INSERT INTO app_rollups AS r (minute, app_id, succeeded, failed_attempts, exhausted, latency)
	SELECT x.minute, x.app_id, x.succeeded, x.failed_attempts, x.exhausted,
		coalesce((SELECT array_agg(v ORDER BY n) FROM unnest(string_to_array(x.latency, ',')::bigint[]) WITH ORDINALITY AS l (v, n)), '{}')
	FROM unnest($1::timestamptz[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[])
		AS x (minute, app_id, succeeded, failed_attempts, exhausted, latency)
	ORDER BY x.minute, x.app_id
	ON CONFLICT (minute, app_id) DO UPDATE SET
		succeeded = r.succeeded + excluded.succeeded,
		failed_attempts = r.failed_attempts + excluded.failed_attempts,
		exhausted = r.exhausted + excluded.exhausted,
		latency = CASE WHEN cardinality(excluded.latency) = 0 THEN r.latency
			ELSE hookd_latency_add(r.latency, excluded.latency) END`

// latencyText is a histogram as "n,n,...", "" for an empty one (arrays of
// arrays of different lengths cannot be sent as one parameter).
func latencyText(h store.LatencyHistogram) string {
	var b strings.Builder
	for i, n := range h {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(itoa(n))
	}
	return b.String()
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}

// Stats answers p from the rollups (this store's pending ones flushed
// first: see rollups.go), the pending deliveries' partial indexes, and one
// rollup probe per endpoint of the scope, in one repeatable-read
// transaction so that the parts agree.
func (s *Store) Stats(ctx context.Context, p *store.StatsParams) (*store.Stats, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := s.flushBeforeRead(ctx); err != nil {
		return nil, err
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, dbErr("stats", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read only
	appID := p.AppID
	if p.EndpointID != "" {
		err := tx.QueryRow(ctx, `SELECT app_id FROM endpoints WHERE id = $1 AND ($2 = '' OR app_id = $2)`,
			p.EndpointID, p.AppID).Scan(&appID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, hook.Errorf(hook.ENotFound, "endpoint", "no endpoint %q", p.EndpointID)
		}
		if err != nil {
			return nil, dbErr("stats: endpoint", err)
		}
	}
	folder := store.NewStatsFolder(p)
	n, start := p.BucketCount()
	to := start.Add(time.Duration(n) * p.Bucket)

	var table, scope, epScope string
	var arg any
	switch {
	case p.EndpointID != "":
		table, scope, epScope, arg = "delivery_rollups", `endpoint_id = $3`, `e.id = $1`, p.EndpointID
	case appID != "":
		table, scope, epScope, arg = "app_rollups", `app_id = $3`, `e.app_id = $1`, appID
	default:
		table, scope, epScope, arg = "app_rollups", `$3::text = ''`, `$1::text = ''`, ""
	}
	rows, err := tx.Query(ctx, `SELECT minute, succeeded, failed_attempts, exhausted, latency
		FROM `+table+` WHERE minute >= $1 AND minute < $2 AND `+scope, start, to, arg)
	if err != nil {
		return nil, dbErr("stats: rollups", err)
	}
	var minute time.Time
	var succ, failed, exh int64
	var lat []int64
	_, err = pgx.ForEachRow(rows, []any{&minute, &succ, &failed, &exh, &lat}, func() error {
		folder.Add(minute.UnixMilli(), succ, failed, exh, store.LatencyHistogram(slices.Clone(lat)))
		return nil
	})
	if err != nil {
		return nil, dbErr("stats: rollups", err)
	}
	res := &store.Stats{Buckets: folder.Buckets(), Troubled: []store.TroubledEndpoint{}}

	// The pending deliveries, endpoint by endpoint through the partial
	// index deliveries_claim.
	if err := tx.QueryRow(ctx, `SELECT coalesce(sum(p), 0), coalesce(sum(d), 0) FROM endpoints e,
		LATERAL (SELECT count(*) AS p FROM deliveries d WHERE d.status = 'pending' AND d.endpoint_id = e.id) pc,
		LATERAL (SELECT CASE WHEN e.disabled THEN 0 ELSE (SELECT count(*) FROM deliveries d
			WHERE d.status = 'pending' AND d.endpoint_id = e.id AND d.available_at <= $2) END AS d) dc
		WHERE `+epScope, arg, ms(p.Now)).Scan(&res.Backlog.Pending, &res.Backlog.DueNow); err != nil {
		return nil, dbErr("stats: backlog", err)
	}

	trows, err := tx.Query(ctx, `SELECT e.id, coalesce(e.uid, ''), e.app_id, e.url, e.disabled,
			r.last_at, coalesce(r.last_status, 0), coalesce(r.last_error_kind, ''), coalesce(r.last_error, ''),
			CASE WHEN e.disabled THEN NULL ELSE (SELECT d.available_at FROM deliveries d
				WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.available_at IS NOT NULL
				ORDER BY d.available_at LIMIT 1) END,
			CASE WHEN e.circuit_open_until > $3 THEN e.circuit_open_until END
		FROM endpoints e
		LEFT JOIN LATERAL (SELECT * FROM delivery_rollups r WHERE r.endpoint_id = e.id
			ORDER BY r.minute DESC LIMIT 1) r ON true
		WHERE `+epScope+` AND (e.disabled OR NOT r.last_ok OR e.circuit_open_until > $3)
		ORDER BY e.disabled DESC, coalesce(e.circuit_open_until > $3, false) DESC, r.last_at DESC NULLS LAST, e.seq DESC
		LIMIT $2`, arg, store.StatsMaxTroubled, ms(p.Now))
	if err != nil {
		return nil, dbErr("stats: endpoints", err)
	}
	var t store.TroubledEndpoint
	var disabled bool
	var last, next, circuit pgtype.Timestamptz
	_, err = pgx.ForEachRow(trows, []any{&t.EndpointID, &t.EndpointUID, &t.AppID, &t.URL, &disabled, &last,
		&t.LastResponseStatus, &t.LastErrorKind, &t.LastError, &next, &circuit}, func() error {
		t.LastAttemptAt, t.NextAttemptAt, t.CircuitOpenUntil = timePtr(last), timePtr(next), timePtr(circuit)
		t.State = store.TroubledState(disabled, t.CircuitOpenUntil)
		res.Troubled = append(res.Troubled, t)
		return nil
	})
	if err != nil {
		return nil, dbErr("stats: endpoints", err)
	}
	return res, nil
}
