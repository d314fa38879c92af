package sqlitestore

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// kib is 1 KiB of JSON event data.
var kib = `{"pad":"` + strings.Repeat("x", 1024-10) + `"}`

func benchApp(b *testing.B, s *Store, endpoints int) (string, []string) {
	b.Helper()
	ctx := context.Background()
	now := time.Now()
	app, err := s.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "bench", Now: now})
	if err != nil {
		b.Fatal(err)
	}
	var eps []string
	for range endpoints {
		ep, err := s.CreateEndpoint(ctx, &store.CreateEndpointParams{ID: hook.NewID("ep"), AppID: app.ID,
			URL: "https://example.com/hook", Secret: hook.NewSecret(), Now: now})
		if err != nil {
			b.Fatal(err)
		}
		eps = append(eps, ep.ID)
	}
	return app.ID, eps
}

func reportBatches(b *testing.B, s *Store, batches0, ops0 int64) {
	if n := s.nBatches.Load() - batches0; n > 0 {
		b.ReportMetric(float64(s.nOps.Load()-ops0)/float64(n), "ops/txn")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func benchInsert(b *testing.B, parallelism int) {
	s := openTemp(b)
	appID, eps := benchApp(b, s, 1)
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
func BenchmarkInsertEvent(b *testing.B) { benchInsert(b, 32) }

// BenchmarkInsertEventSerial is one caller at a time: one fsync per insert,
// the baseline that group commit improves on.
func BenchmarkInsertEventSerial(b *testing.B) {
	s := openTemp(b)
	appID, eps := benchApp(b, s, 1)
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

// BenchmarkClaimAndRecord: b.N due deliveries over 50 endpoints; 4
// dispatchers each claim batches of 100 (at most 20 per endpoint) and
// record every attempt concurrently, as workers would. One op is one
// delivery claimed and recorded.
func BenchmarkClaimAndRecord(b *testing.B) {
	s := openTemp(b)
	appID, eps := benchApp(b, s, 50)
	ctx := context.Background()
	due := time.Now().Add(-time.Hour)
	// Bulk fill, outside the timer.
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		ins := tx.StmtContext(ctx, s.stmts.insertEvent)
		dl := tx.StmtContext(ctx, s.stmts.insertDelivery)
		for i := range b.N {
			id := hook.NewID("evt")
			var seq int64
			if err := ins.QueryRowContext(ctx, appID, id, "order.created", kib, ms(due), sql.NullString{}, 1, "", "").
				Scan(&seq); err != nil {
				return err
			}
			if _, err := dl.ExecContext(ctx, hook.NewID("dlv"), appID, seq, id, "order.created", ms(due), ms(due),
				sql.NullString{}, eps[i%len(eps)], 1); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
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

// BenchmarkDeliveryRows is the floor under the store's share of a
// delivery: the hot path's own statements, run back to back in one
// goroutine in transactions of 100 deliveries (no group-commit queue, no
// other goroutines, no HTTP), on a real file with fsync at each commit.
// "event" writes only the event row, the least any durable webhook
// service must write before its 202; "delivery" is what hookd writes: the
// event, its delivery leased to this node, the attempt, and the
// delivery's update to succeeded. One op is one delivery.
func BenchmarkDeliveryRows(b *testing.B) {
	for _, rows := range []string{"event", "delivery"} {
		b.Run(rows, func(b *testing.B) {
			s := openTemp(b)
			appID, eps := benchApp(b, s, 1)
			st := &s.stmts
			now := ms(time.Now())
			b.SetBytes(int64(len(kib)))
			b.ResetTimer()
			for i := 0; i < b.N; i += 100 {
				tx, err := s.wdb.Begin()
				if err != nil {
					b.Fatal(err)
				}
				for range min(100, b.N-i) {
					id := hook.NewID("evt")
					var seq int64
					if err := tx.Stmt(st.insertEvent).QueryRow(appID, id, "order.created", kib, now,
						sql.NullString{}, 1, "", "").Scan(&seq); err != nil {
						b.Fatal(err)
					}
					if rows == "event" {
						continue
					}
					dlv := hook.NewID("dlv")
					if _, err := tx.Stmt(st.insertDelivery).Exec(dlv, appID, seq, id, "order.created", now,
						now+60000, "bench", eps[0], 1); err != nil {
						b.Fatal(err)
					}
					if _, err := tx.Stmt(st.insertAttempt).Exec(hook.NewID("att"), 1, "scheduled", now, 2, 200,
						"ok", "", "", dlv); err != nil {
						b.Fatal(err)
					}
					if _, err := tx.Stmt(st.updateDelivery).Exec("succeeded", 1, 1, now, 200, nil, now, dlv,
						"bench"); err != nil {
						b.Fatal(err)
					}
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}
