package pgstore

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jonboulle/clockwork"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/storetest"
)

func TestRollups(t *testing.T) {
	testDSN(t)
	storetest.RunRollups(t, storetest.RollupsBackend{
		NewDB: func(t *testing.T) string { return newSchema(t) },
		Open: func(t *testing.T, db string) (store.Store, error) {
			return Open(context.Background(), db, &Options{MaxConns: 8, RollupInterval: time.Hour})
		},
		OpenClocked: func(t *testing.T, db string, clock clockwork.Clock) (store.Store, error) {
			return Open(context.Background(), db, &Options{MaxConns: 8, Clock: clock})
		},
		Writes: func(s store.Store) (int64, int64) {
			return s.(*Store).nRollupFlushes.Load(), s.(*Store).nRollupRows.Load()
		},
		Stored: rawSucceeded,
	})
}

// openClocked opens a store on a new schema whose rollup interval runs
// on a fake clock that never advances: the rollups are written only by
// reads and Close.
func openClocked(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), newSchema(t), &Options{MaxConns: 8, Clock: clockwork.NewFakeClock()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// rawSucceeded reads the endpoint's rollup rows as stored, beside the
// store (so without flushing it).
func rawSucceeded(t *testing.T, dsn, epID string) int64 {
	t.Helper()
	var n int64
	withConn(t, dsn, func(conn *pgx.Conn) error {
		return conn.QueryRow(context.Background(),
			`SELECT coalesce(sum(succeeded), 0) FROM delivery_rollups WHERE endpoint_id = $1`, epID).Scan(&n)
	})
	return n
}

// holdOp holds a writer inside its batch's transaction until released.
type holdOp struct {
	opBase
	running, release chan struct{}
}

func (o *holdOp) sortKey() string                      { return "" }
func (o *holdOp) queue(b *pgx.Batch)                   { b.Queue("SELECT 1") }
func (o *holdOp) read(br pgx.BatchResults) error       { _, err := br.Exec(); return err }
func (o *holdOp) alone(context.Context, pgx.Tx) error  { return nil }
func (o *holdOp) notify() (string, bool)               { return "", false }
func (o *holdOp) finish(context.Context, pgx.Tx) error { close(o.running); <-o.release; return nil }

// TestRollupsBatchRerun puts RecordAttempts in a batch that fails after
// they were read (another attempt with a taken id): the batch is rolled
// back and each op runs alone. Each attempt is counted once.
func TestRollupsBatchRerun(t *testing.T) {
	s := openClocked(t)
	ctx := context.Background()
	const n = 10
	at := time.Now().UTC().Truncate(time.Minute)
	appID, epID, ids := storetest.RollupFixture(t, s, n+1, at)
	// The extra delivery gets a failed attempt, a row, whose id the
	// failing op below takes again. (A first-try success is kept on its
	// delivery's row, with no attempts row to conflict with.)
	extra, ids := ids[n], ids[:n]
	taken := hook.NewID("att")
	if err := s.RecordAttempt(ctx, &store.RecordAttemptParams{Owner: "w", Attempt: &hook.Attempt{
		ID: taken, DeliveryID: extra, Number: 1, Trigger: hook.TriggerScheduled, StartedAt: at,
		Duration: time.Millisecond, ResponseStatus: 500}, ScheduledAttempts: 1,
		Decision: hook.Decision{Status: hook.DeliveryPending, NextAttemptAt: at.Add(time.Hour)}, Now: at}); err != nil {
		t.Fatal(err)
	}
	retries0 := s.nRetries.Load()
	errs := make([]error, n)
	var ops []func()
	for i, id := range ids {
		attID := hook.NewID("att")
		ops = append(ops, func() {
			errs[i] = storetest.RecordSuccess(ctx, s, id, attID, at.Add(time.Duration(i)*time.Millisecond))
		})
	}
	// And an attempt of the extra delivery (no longer leased: written as
	// a row) with the taken id, which fails the batch.
	var dupErr error
	ops = append(ops, func() { dupErr = storetest.RecordSuccess(ctx, s, extra, taken, at) })
	inOneBatch(t, s, ops...)
	if hook.ErrorCode(dupErr) != hook.EConflict {
		t.Fatalf("attempt with a taken id: %v", dupErr)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if got := s.nRetries.Load() - retries0; got != 1 {
		t.Fatalf("%d batches run again one op at a time, want 1", got)
	}
	if got := storetest.SucceededAround(t, s, appID, epID, at); got != n {
		t.Fatalf("succeeded: got %d, want %d", got, n)
	}
}
