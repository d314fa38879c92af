package pgstore

import (
	"context"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/store/storetest"
)

// TestMigrationInlineAttempts: a schema in use at migration 16 (attempt
// rows only: a failure then a success, an exhausted failure, a pending
// delivery with a failed attempt and a future next attempt, an old
// first-try success) upgrades in place (00017): every answer is as before,
// the pending delivery is claimed when due, and a first-try success after
// the upgrade is inline and lists above the old rows (its seq comes from
// the attempts' sequence).
func TestMigrationInlineAttempts(t *testing.T) {
	ctx := context.Background()
	dsn := newSchema(t)
	m := migratorAt(t, dsn, 16)
	now := time.Now().UTC().Truncate(time.Millisecond)
	t0 := now.Add(-time.Hour)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	due := now.Add(10 * time.Minute)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO apps (id, name, created_at, updated_at) VALUES ('app_1', 'a', $1, $1)`, []any{at(0)}},
		{`INSERT INTO endpoints (id, app_id, url, secret, created_at, updated_at) VALUES ('ep_1', 'app_1', 'https://example.com', 's', $1, $1)`, []any{at(0)}},
		{`INSERT INTO events (app_id, id, type, data, created_at) VALUES ('app_1', 'e1', 'a.b', '{}', $1),
			('app_1', 'e2', 'a.b', '{}', $2), ('app_1', 'e3', 'a.b', '{}', $3), ('app_1', 'e4', 'a.b', '{}', $4)`,
			[]any{at(1 * time.Second), at(2 * time.Second), at(3 * time.Second), at(4 * time.Second)}},
		{`INSERT INTO deliveries (id, app_id, event_seq, event_id, event_type, endpoint_id, status, attempt_count,
				scheduled_attempts, next_attempt_at, available_at, last_attempt_at, last_response_status, created_at, updated_at)
			SELECT v.id, 'app_1', e.seq, e.id, 'a.b', 'ep_1', v.status, v.n, v.n, v.next, v.next, v.last, v.code, $5, v.last
			FROM (VALUES ('dlv_a', 'e1', 'succeeded', 2, NULL::timestamptz, $1::timestamptz, 200, 1),
					('dlv_b', 'e2', 'failed', 2, NULL, $2, 500, 2),
					('dlv_c', 'e3', 'pending', 1, $4, $3, 503, 3),
					('dlv_d', 'e4', 'succeeded', 1, NULL, $6, 200, 4))
				AS v (id, event, status, n, next, last, code, ord)
			JOIN events e ON e.app_id = 'app_1' AND e.id = v.event
			ORDER BY v.ord`,
			[]any{at(20 * time.Second), at(21 * time.Second), at(12 * time.Second), due, at(5 * time.Second), at(13 * time.Second)}},
		{`INSERT INTO attempts (id, delivery_id, app_id, number, trigger_kind, started_at, duration_ms,
				response_status, response_body, error_kind, error)
			SELECT id, dlv, 'app_1', n, 'scheduled', started, 5, code, body, kind, msg
			FROM (VALUES ('att_a1', 'dlv_a', 1, $1::timestamptz, 500, 'no', 'status', 'status 500', 1),
					('att_b1', 'dlv_b', 1, $2, 500, 'no', 'status', 'status 500', 2),
					('att_c1', 'dlv_c', 1, $3, 503, 'later', 'status', 'status 503', 3),
					('att_d1', 'dlv_d', 1, $4, 200, 'ok', '', '', 4),
					('att_a2', 'dlv_a', 2, $5, 200, 'ok', '', '', 5),
					('att_b2', 'dlv_b', 2, $6, 500, 'no', 'status', 'status 500', 6))
				AS v (id, dlv, n, started, code, body, kind, msg, ord)
			ORDER BY ord`,
			[]any{at(10 * time.Second), at(11 * time.Second), at(12 * time.Second), at(13 * time.Second),
				at(20 * time.Second), at(21 * time.Second)}},
	} {
		if _, err := m.db.ExecContext(ctx, q.sql, q.args...); err != nil {
			m.close()
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	m.close()
	if _, err := MigrateUp(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	s := openDSN(t, dsn)
	storetest.CheckUpgradedAttempts(t, s, now, due, func(deliveryID string) (rows, inline int) {
		return countRows(t, s, `SELECT count(*) FROM attempts WHERE delivery_id = $1`, deliveryID),
			countRows(t, s, `SELECT count(*) FROM deliveries WHERE id = $1
				AND first_attempt_seq > (SELECT max(seq) FROM attempts WHERE id = 'att_b2')`, deliveryID)
	})

	// Down: the inline attempt becomes a row again, in its place.
	_ = s.Close()
	m = migratorAt(t, dsn, 0)
	if _, err := m.p.DownTo(ctx, 16); err != nil {
		t.Fatal(err)
	}
	var newest string
	if err := m.db.QueryRowContext(ctx, `SELECT id FROM attempts ORDER BY seq DESC LIMIT 1`).Scan(&newest); err != nil || newest != "att_e1" {
		t.Fatalf("newest attempt row after 00017's Down: %q, %v; want att_e1", newest, err)
	}
}
