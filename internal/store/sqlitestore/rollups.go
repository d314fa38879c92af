package sqlitestore

import (
	"context"
	"database/sql"

	"github.com/hookd/hookd/internal/store"
)

// # Rollups, written at most once per interval
//
// A RecordAttempt's rollup (see store.AttemptRollup) is no longer written
// in its own batch's transaction: every upsert of the rollup tables
// rewrites their B-trees' leaves, a cost paid per commit. The writer keeps
// the rollups of the committed batches in s.rollups and writes them, with
// the rollups of the batch at hand, in the transaction of the first batch
// that commits once Options.RollupInterval has passed since the last
// flush. A timer flushes them on their own when no batch comes; Stats and
// PurgeEvents flush them first (so that a read sees every attempt recorded
// before it, and a purge does not leave old minutes behind); Close
// flushes them last.
//
// Only what committed is kept: a batch's rollups join s.rollups after its
// COMMIT, from the ops' attemptRollups, which each run of fn sets afresh,
// so that the optimistic run that runBatch rolls back and runs again with
// savepoints counts once. A flushing transaction that fails puts back
// what it took.
//
// A crash loses at most one interval of rollup counts (the stats of the
// attempts recorded since the last flush); the attempts and deliveries
// themselves are committed as before.

// batchRollups returns the rollups of the ops that succeeded, and whether
// one of them asks for a flush.
func batchRollups(ops []*writeOp, errs []error) (rs []store.AttemptRollup, force bool) {
	for i, op := range ops {
		if errs[i] != nil {
			continue
		}
		if op.rollup != nil && op.rollup.set {
			rs = append(rs, op.rollup.r)
		}
		force = force || op.flushRollups
	}
	return rs, force
}

// flushDue says whether the transaction at hand writes the rollups: some
// are pending or come with the batch (n), and a flush is asked for or the
// interval has passed since the last one. Only the writer calls it.
func (s *Store) flushDue(force bool, n int) bool {
	if n == 0 && s.rollups.Len() == 0 {
		return false
	}
	return force || s.clock.Since(s.lastFlush) >= s.rollupEvery
}

// takeRollups takes the pending rollups for a flushing transaction and
// starts the next interval (after a failed flush too, so that a database
// that cannot take them is not retried at every batch).
func (s *Store) takeRollups() []store.AttemptRollup {
	s.flushing.Store(true) // before Take: see flushRollups
	s.lastFlush = s.clock.Now()
	s.nRollupFlushes.Add(1)
	return s.rollups.Take()
}

// flushOp is an operation that writes nothing but makes its batch write
// the pending rollups.
func (s *Store) flushOp() *writeOp {
	return &writeOp{ctx: context.Background(), done: make(chan error, 1), flushRollups: true,
		fn: func(context.Context, *sql.Tx) error { return nil }}
}

// flushRollups writes the pending rollups now (with whatever batch is
// going), and returns once they are committed. Nothing pending and no
// flush under way: nothing to do. (Len is read before flushing: a
// transaction sets flushing before it takes the rollups and clears it
// once they are stored, so that a read never misses rollups that are
// taken but not yet committed; its flushOp queues behind that
// transaction.)
func (s *Store) flushRollups(ctx context.Context) error {
	if s.rollups.Len() == 0 && !s.flushing.Load() {
		return nil
	}
	op := s.flushOp()
	op.ctx = ctx
	return classify(s.submit(ctx, op))
}

// flushBeforeRead flushes the pending rollups before a read of them. If
// that fails for want of the database (e.g. a full disk), the read goes
// on with what is stored, short of the pending interval.
func (s *Store) flushBeforeRead(ctx context.Context) error {
	err := s.flushRollups(ctx)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("sqlitestore: rollups not flushed before a read; it misses the latest attempts", "err", err)
		return nil
	}
	return err
}

// finalFlush writes what is pending as the writer stops.
func (s *Store) finalFlush() {
	if s.rollups.Len() == 0 {
		return
	}
	op := s.flushOp()
	s.runBatch([]*writeOp{op})
	if err := <-op.done; err != nil {
		s.log.Error("sqlitestore: rollups lost at close", "err", err)
	}
}
