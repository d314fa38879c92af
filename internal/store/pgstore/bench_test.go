package pgstore

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// The benchmarks need HOOKD_TEST_POSTGRES_DSN, like the tests:
//
//	HOOKD_TEST_POSTGRES_DSN=postgres://... go test -run '^$' -bench . ./internal/store/pgstore/

// kib is 1 KiB of JSON event data.
var kib = `{"pad":"` + strings.Repeat("x", 1024-10) + `"}`

// openBench opens a store with the default pool on a new schema.
func openBench(b *testing.B) *Store {
	b.Helper()
	s, err := Open(context.Background(), newSchema(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func reportBatches(b *testing.B, s *Store, batches0, ops0 int64) {
	if n := s.nBatches.Load() - batches0; n > 0 {
		b.ReportMetric(float64(s.nOps.Load()-ops0)/float64(n), "ops/txn")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func benchInsert(b *testing.B, parallelism int, noBulk bool) {
	s := openBench(b)
	s.noBulk = noBulk
	appID, eps := fixture(b, s, 1)
	ctx := context.Background()
	b.SetBytes(int64(len(kib)))
	batches0, ops0 := s.nBatches.Load(), s.nOps.Load()
	b.SetParallelism(parallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			now := time.Now()
			_, err := s.InsertEvent(ctx, &store.InsertEventParams{
				Event:      &hook.Event{ID: hook.NewID("evt"), AppID: appID, Type: "order.created", Data: []byte(kib), CreatedAt: now},
				Deliveries: []store.NewDelivery{{ID: hook.NewID("dlv"), EndpointID: eps[0], Claimed: true}},
				Owner:      "bench", LeaseUntil: now.Add(time.Minute),
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	reportBatches(b, s, batches0, ops0)
}

// BenchmarkInsertEvent: many concurrent ingest requests (parallelism 32 ×
// GOMAXPROCS goroutines), each an event of 1 KiB with one claimed delivery.
func BenchmarkInsertEvent(b *testing.B) { benchInsert(b, 32, false) }

// BenchmarkInsertEventPerStatement is BenchmarkInsertEvent with one
// statement per event in each group transaction instead of one for all.
func BenchmarkInsertEventPerStatement(b *testing.B) { benchInsert(b, 32, true) }

// BenchmarkInsertEventSerial is one caller at a time: one commit (and WAL
// flush) per insert, the baseline that group commit improves on.
func BenchmarkInsertEventSerial(b *testing.B) {
	s := openBench(b)
	appID, eps := fixture(b, s, 1)
	ctx := context.Background()
	batches0, ops0 := s.nBatches.Load(), s.nOps.Load()
	b.ResetTimer()
	for range b.N {
		now := time.Now()
		_, err := s.InsertEvent(ctx, &store.InsertEventParams{
			Event:      &hook.Event{ID: hook.NewID("evt"), AppID: appID, Type: "order.created", Data: []byte(kib), CreatedAt: now},
			Deliveries: []store.NewDelivery{{ID: hook.NewID("dlv"), EndpointID: eps[0], Claimed: true}},
			Owner:      "bench", LeaseUntil: now.Add(time.Minute),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportBatches(b, s, batches0, ops0)
}

// fill inserts n due events of 1 KiB, each with one unclaimed delivery,
// spread over eps, in one statement.
func fill(b *testing.B, s *Store, appID string, eps []string, n int, due time.Time) {
	b.Helper()
	ctx := context.Background()
	_, err := s.pool.Exec(ctx, `WITH ev AS (
			INSERT INTO events (app_id, id, type, data, created_at)
			SELECT $1, 'evt_' || i, 'order.created', $2::json, $3 FROM generate_series(1, $4) AS i
			RETURNING seq, id)
		INSERT INTO deliveries (id, app_id, event_seq, event_id, event_type, endpoint_id, status,
			next_attempt_at, available_at, created_at, updated_at)
		SELECT 'dlv_' || ev.id, $1, ev.seq, ev.id, 'order.created', ($5::text[])[1 + ev.seq % cardinality($5::text[])],
			'pending', $3, $3, $3, $3
		FROM ev`, appID, kib, due, n, eps)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkClaimAndRecord: b.N due deliveries over 50 endpoints; 4
// dispatchers each claim batches of 100 (at most 20 per endpoint) and
// record every attempt concurrently, as workers would. One op is one
// delivery claimed and recorded.
func BenchmarkClaimAndRecord(b *testing.B) { benchClaimAndRecord(b, false) }

// BenchmarkClaimAndRecordPerStatement is BenchmarkClaimAndRecord with one
// statement per attempt in each group transaction instead of one for all.
func BenchmarkClaimAndRecordPerStatement(b *testing.B) { benchClaimAndRecord(b, true) }

func benchClaimAndRecord(b *testing.B, noBulk bool) {
	s := openBench(b)
	s.noBulk = noBulk
	appID, eps := fixture(b, s, 50)
	ctx := context.Background()
	fill(b, s, appID, eps, b.N, time.Now().Add(-time.Hour))
	batches0, ops0 := s.nBatches.Load(), s.nOps.Load()
	var done atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := range 4 {
		owner := "dispatcher-" + string(rune('a'+w))
		wg.Go(func() {
			for {
				now := time.Now()
				c, err := s.ClaimDeliveries(ctx, &store.ClaimDeliveriesParams{Owner: owner, Now: now,
					LeaseUntil: now.Add(time.Minute), Limit: 100, PerEndpoint: 20})
				if err != nil {
					b.Error(err)
					return
				}
				if len(c.Jobs) == 0 {
					return
				}
				var rec sync.WaitGroup
				for _, j := range c.Jobs {
					rec.Go(func() {
						start := time.Now()
						err := s.RecordAttempt(ctx, &store.RecordAttemptParams{
							Owner: owner,
							Attempt: &hook.Attempt{ID: hook.NewID("att"), DeliveryID: j.DeliveryID, Number: j.AttemptCount + 1,
								Trigger: hook.TriggerScheduled, StartedAt: start, Duration: 25 * time.Millisecond,
								ResponseStatus: 200, ResponseBody: "ok"},
							ScheduledAttempts: j.ScheduledAttempts + 1,
							Decision:          hook.Decision{Status: hook.DeliverySucceeded},
							EndpointID:        j.EndpointID, Now: time.Now(),
						})
						if err != nil {
							b.Error(err)
						}
						done.Add(1)
					})
				}
				rec.Wait()
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if int(done.Load()) != b.N {
		b.Fatalf("recorded %d of %d", done.Load(), b.N)
	}
	if n, _ := s.CountPendingDeliveries(ctx); n != 0 {
		b.Fatalf("%d deliveries still pending", n)
	}
	reportBatches(b, s, batches0, ops0)
}
