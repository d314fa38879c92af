package pgstore

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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
// endpoints; events and deliveries by COPY, rollups by the store's own
// upsert) and measures the overview's Stats calls:
//
//	HOOKD_TEST_POSTGRES_DSN=postgres://... go test -run '^$' -bench Stats -benchtime 50x ./internal/store/pgstore/
func BenchmarkStats(b *testing.B) {
	ctx := context.Background()
	s := openBench(b)
	h, err := storetest.NewStatsHistory(ctx, s, 10, 10, benchDeliveries(), 7*24*time.Hour, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	var evs, dlvs [][]any
	flush := func() error {
		if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{"events"}, []string{"app_id", "id", "type", "data", "created_at"},
			pgx.CopyFromRows(evs)); err != nil {
			return err
		}
		if _, err := s.pool.CopyFrom(ctx, pgx.Identifier{"deliveries"}, []string{"id", "app_id", "event_seq", "event_id",
			"event_type", "endpoint_id", "status", "attempt_count", "scheduled_attempts", "next_attempt_at", "available_at",
			"last_attempt_at", "last_response_status", "created_at", "updated_at"}, pgx.CopyFromRows(dlvs)); err != nil {
			return err
		}
		evs, dlvs = evs[:0], dlvs[:0]
		return nil
	}
	tsOrNil := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t
	}
	// The schema is new: events get seq 1, 2, ... in the order copied.
	err = h.Each(func(d *storetest.HistoryDelivery) error {
		evs = append(evs, []any{d.AppID, d.EventID, "order.created", "{}", d.Created})
		dlvs = append(dlvs, []any{d.ID, d.AppID, int64(d.N + 1), d.EventID, "order.created", d.EndpointID, d.Status,
			d.Attempts, d.Attempts, tsOrNil(d.Next), tsOrNil(d.Next), tsOrNil(d.LastAttempt), d.ResponseStatus, d.Created, d.Created})
		if len(evs) == 50_000 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		b.Fatal(err)
	}
	rs := h.Rollups()
	for len(rs) > 0 {
		n := min(len(rs), 10_000)
		if err := writeRollups(ctx, s.pool, rs[:n]); err != nil {
			b.Fatal(err)
		}
		rs = rs[n:]
	}
	if _, err := s.pool.Exec(ctx, `VACUUM ANALYZE`); err != nil { // as autovacuum would have by now
		b.Fatal(err)
	}
	storetest.BenchStatsOverview(b, s, h)
}
