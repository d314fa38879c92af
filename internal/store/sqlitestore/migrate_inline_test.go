package sqlitestore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/store/storetest"
)

// TestMigrationInlineAttempts: a database in use at migration 18 (attempt
// rows only: a failure then a success, an exhausted failure, a pending
// delivery with a failed attempt and a future next attempt, an old
// first-try success) upgrades in place (00019): every answer is as before,
// the pending delivery is claimed when due, and a first-try success after
// the upgrade is inline and lists above the old rows (the writer's seq
// counter starts above them).
func TestMigrationInlineAttempts(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	db, _ := migrationsAt(t, path, 18)
	now := time.Now().UTC().Truncate(time.Millisecond)
	t0 := now.Add(-time.Hour)
	at := func(d time.Duration) int64 { return ms(t0.Add(d)) }
	due := now.Add(10 * time.Minute)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO apps (id, name, created_at, updated_at) VALUES ('app_1', 'a', ?1, ?1)`, []any{at(0)}},
		{`INSERT INTO endpoints (id, app_id, url, secret, created_at, updated_at) VALUES ('ep_1', 'app_1', 'https://example.com', 's', ?1, ?1)`, []any{at(0)}},
		{`INSERT INTO events (seq, app_id, id, type, data, created_at) VALUES (1, 'app_1', 'e1', 'a.b', '{}', ?1),
			(2, 'app_1', 'e2', 'a.b', '{}', ?2), (3, 'app_1', 'e3', 'a.b', '{}', ?3), (4, 'app_1', 'e4', 'a.b', '{}', ?4)`,
			[]any{at(1 * time.Second), at(2 * time.Second), at(3 * time.Second), at(4 * time.Second)}},
		{`INSERT INTO deliveries (id, app_id, event_seq, event_id, event_type, endpoint_id, status, attempt_count,
				scheduled_attempts, next_attempt_at, available_at, last_attempt_at, last_response_status, created_at, updated_at)
			VALUES ('dlv_a', 'app_1', 1, 'e1', 'a.b', 'ep_1', 'succeeded', 2, 2, NULL, NULL, ?1, 200, ?5, ?1),
				('dlv_b', 'app_1', 2, 'e2', 'a.b', 'ep_1', 'failed', 2, 2, NULL, NULL, ?2, 500, ?5, ?2),
				('dlv_c', 'app_1', 3, 'e3', 'a.b', 'ep_1', 'pending', 1, 1, ?4, ?4, ?3, 503, ?5, ?3),
				('dlv_d', 'app_1', 4, 'e4', 'a.b', 'ep_1', 'succeeded', 1, 1, NULL, NULL, ?6, 200, ?5, ?6)`,
			[]any{at(20 * time.Second), at(21 * time.Second), at(12 * time.Second), ms(due), at(5 * time.Second), at(13 * time.Second)}},
		// Seqs with gaps, interleaved across deliveries.
		{`INSERT INTO attempts (seq, id, delivery_id, app_id, number, trigger_kind, started_at, duration_ms,
				response_status, response_body, error_kind, error)
			VALUES (10, 'att_a1', 'dlv_a', 'app_1', 1, 'scheduled', ?1, 5, 500, 'no', 'status', 'status 500'),
				(11, 'att_b1', 'dlv_b', 'app_1', 1, 'scheduled', ?2, 5, 500, 'no', 'status', 'status 500'),
				(12, 'att_c1', 'dlv_c', 'app_1', 1, 'scheduled', ?3, 5, 503, 'later', 'status', 'status 503'),
				(13, 'att_d1', 'dlv_d', 'app_1', 1, 'scheduled', ?4, 5, 200, 'ok', '', ''),
				(20, 'att_a2', 'dlv_a', 'app_1', 2, 'scheduled', ?5, 5, 200, 'ok', '', ''),
				(21, 'att_b2', 'dlv_b', 'app_1', 2, 'scheduled', ?6, 5, 500, 'no', 'status', 'status 500')`,
			[]any{at(10 * time.Second), at(11 * time.Second), at(12 * time.Second), at(13 * time.Second),
				at(20 * time.Second), at(21 * time.Second)}},
	} {
		if _, err := db.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path, nil) // migrates
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	storetest.CheckUpgradedAttempts(t, s, now, due, func(deliveryID string) (rows, inline int) {
		return countRows(t, s, `SELECT count(*) FROM attempts WHERE delivery_id = ?`, deliveryID),
			countRows(t, s, `SELECT count(*) FROM deliveries WHERE id = ? AND first_attempt_seq > 21`, deliveryID)
	})

	// Down: the inline attempt becomes a row again, in its place.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, p := migrationsAt(t, path, 0)
	if _, err := p.DownTo(ctx, 18); err != nil {
		t.Fatal(err)
	}
	var newest string
	if err := db.QueryRowContext(ctx, `SELECT id FROM attempts ORDER BY seq DESC LIMIT 1`).Scan(&newest); err != nil || newest != "att_e1" {
		t.Fatalf("newest attempt row after 00019's Down: %q, %v; want att_e1", newest, err)
	}
}
