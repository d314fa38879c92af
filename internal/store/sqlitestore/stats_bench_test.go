package sqlitestore

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/store/storetest"
)

// benchDeliveries is how many deliveries the stats benchmarks fill the
// store with: HOOKD_BENCH_DELIVERIES, default 1,000,000.
func benchDeliveries() int {
	if n, err := strconv.Atoi(os.Getenv("HOOKD_BENCH_DELIVERIES")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// BenchmarkStats fills a store with a week of history (10 apps of 10
// endpoints; events, deliveries and rollups written with direct SQL in
// one transaction) and measures the overview's Stats calls:
//
//	go test -run '^$' -bench Stats -benchtime 50x ./internal/store/sqlitestore/
func BenchmarkStats(b *testing.B) {
	ctx := context.Background()
	s := openTemp(b)
	h, err := storetest.NewStatsHistory(ctx, s, 10, 10, benchDeliveries(), 7*24*time.Hour, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	insEv, err := tx.PrepareContext(ctx, `INSERT INTO events (seq, app_id, id, type, data, created_at, app_seq)
		VALUES (?1, ?2, ?3, 'order.created', '{}', ?4, (SELECT seq FROM apps WHERE id = ?2))`)
	if err != nil {
		b.Fatal(err)
	}
	insDlv, err := tx.PrepareContext(ctx, `INSERT INTO deliveries (id, app_id, event_seq, event_id, event_type, endpoint_id,
			status, attempt_count, scheduled_attempts, next_attempt_at, available_at, last_attempt_at, last_response_status,
			created_at, updated_at, app_seq, endpoint_seq)
		VALUES (?1, ?2, ?3, ?4, 'order.created', ?5, ?6, ?7, ?7, ?8, ?8, ?9, ?10, ?11, ?11,
			(SELECT seq FROM apps WHERE id = ?2), (SELECT seq FROM endpoints WHERE id = ?5))`)
	if err != nil {
		b.Fatal(err)
	}
	err = h.Each(func(d *storetest.HistoryDelivery) error {
		seq := int64(d.N + 1)
		if _, err := insEv.ExecContext(ctx, seq, d.AppID, d.EventID, ms(d.Created)); err != nil {
			return err
		}
		_, err := insDlv.ExecContext(ctx, d.ID, d.AppID, seq, d.EventID, d.EndpointID, d.Status, d.Attempts,
			nullMS(d.Next), nullMS(d.LastAttempt), d.ResponseStatus, ms(d.Created))
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	rs := h.Rollups()
	for len(rs) > 0 {
		n := min(len(rs), 10_000)
		if err := s.writeRollups(tx, rs[:n]); err != nil {
			b.Fatal(err)
		}
		rs = rs[n:]
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	storetest.BenchStatsOverview(b, s, h)
}
