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
			var seq, appSeq int64
			if err := ins.QueryRowContext(ctx, appID, id, "order.created", kib, ms(due), sql.NullString{}, 1, "", "").
				Scan(&seq, &appSeq); err != nil {
				return err
			}
			if _, err := dl.ExecContext(ctx, hook.NewID("dlv"), appID, seq, id, "order.created", ms(due), ms(due),
				sql.NullString{}, eps[i%len(eps)], 1, appSeq); err != nil {
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
// One op is one delivery.
//   - "event" writes only hookd's event row, the least any durable webhook
//     service must write before its 202;
//   - "delivery" is what hookd writes for a first-try success: the event,
//     its delivery leased to this node, and the delivery's update to
//     succeeded with the attempt on its row;
//   - "bare" is the same three writes on the least schema such a service
//     could have (a table of events with its idempotency key, a table of
//     deliveries with one queue index and nothing to list them by), on
//     the same driver, page size and settings: what SQLite itself costs
//     here, whatever the schema.
func BenchmarkDeliveryRows(b *testing.B) {
	for _, rows := range []string{"event", "delivery", "bare"} {
		b.Run(rows, func(b *testing.B) {
			s := openTemp(b)
			appID, eps := benchApp(b, s, 1)
			st := &s.stmts
			insertEvent, insertDelivery, succeed := st.insertEvent, st.insertDelivery, st.updateDeliveryInline
			if rows == "bare" {
				insertEvent, insertDelivery, succeed = prepareBare(b, s)
			}
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
					var seq, appSeq int64
					if err := tx.Stmt(insertEvent).QueryRow(appID, id, "order.created", kib, now,
						sql.NullString{}, 1, "", "").Scan(&seq, &appSeq); err != nil {
						b.Fatal(err)
					}
					if rows == "event" {
						continue
					}
					dlv := hook.NewID("dlv")
					if _, err := tx.Stmt(insertDelivery).Exec(dlv, appID, seq, id, "order.created", now,
						now+60000, "bench", eps[0], 1, appSeq); err != nil {
						b.Fatal(err)
					}
					var app, ep string
					var created int64
					if err := tx.Stmt(succeed).QueryRow("succeeded", 1, 1, now, 200, nil, now, dlv, "bench",
						hook.NewID("att"), seq, "scheduled", 2, "ok").Scan(&app, &ep, &created); err != nil {
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

// prepareBare creates the least schema a durable webhook service could
// have next to hookd's, and prepares BenchmarkDeliveryRows' three
// statements on it, with the same parameters as hookd's.
func prepareBare(b *testing.B, s *Store) (insertEvent, insertDelivery, succeed *sql.Stmt) {
	b.Helper()
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE bare_events (seq INTEGER PRIMARY KEY, app_id TEXT NOT NULL, id TEXT NOT NULL,
			type TEXT NOT NULL, data TEXT NOT NULL, created_at INTEGER NOT NULL, UNIQUE (app_id, id))`,
		`CREATE TABLE bare_deliveries (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, event_seq INTEGER NOT NULL,
			endpoint_id TEXT NOT NULL, status TEXT NOT NULL, available_at INTEGER, lease_owner TEXT,
			attempt_count INTEGER NOT NULL DEFAULT 0, response_status INTEGER, response_body TEXT,
			attempted_at INTEGER, duration_ms INTEGER, created_at INTEGER NOT NULL)`,
		`CREATE INDEX bare_claim ON bare_deliveries (endpoint_id, available_at) WHERE status = 'pending'`,
	} {
		if _, err := s.wdb.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	prep := func(q string) *sql.Stmt {
		st, err := s.wdb.PrepareContext(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = st.Close() })
		return st
	}
	// The same parameters as sqlInsertEvent, sqlInsertDelivery and
	// sqlUpdateDeliveryInline; what the bare schema has no column for is
	// ignored. A delivery is found by its seq (?3 is the event's, and
	// the bench's deliveries and events are one to one).
	return prep(`INSERT INTO bare_events (app_id, id, type, data, created_at)
			SELECT ?1, ?2, ?3, ?4, ?5 WHERE ?6 IS NULL AND ?7 AND ?8 = ?9
			RETURNING seq, 0`),
		prep(`INSERT INTO bare_deliveries (seq, id, event_seq, endpoint_id, status, available_at, lease_owner, created_at)
			SELECT ?3, ?1, ?3, ?9, 'pending', ?7, ?8, ?6 WHERE ?2 <> ?4 AND ?5 <> '' AND ?10 AND ?11 = 0`),
		prep(`UPDATE bare_deliveries SET status = ?1, attempt_count = ?2, attempted_at = ?4, response_status = ?5,
			available_at = ?6, lease_owner = NULL, duration_ms = ?13, response_body = ?14
			WHERE seq = ?11 AND lease_owner = ?9 AND ?3 AND ?7 AND ?8 <> ?10 AND ?12 <> ''
			RETURNING '', endpoint_id, created_at`)
}
