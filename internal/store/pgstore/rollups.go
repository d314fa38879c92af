package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/store"
)

// # Rollups, written at most once per interval
//
// A RecordAttempt's rollup (see store.AttemptRollup) is no longer written
// in its batch's transaction, where it cost a HOT update of each rollup
// row per batch. Once a batch (or an operation run alone after a failed
// batch) has committed, the rollups of its attempts join s.rollups; the
// flusher goroutine writes them in a transaction of its own at most once
// per Options.RollupInterval, and only while some are pending. Stats and
// PurgeEvents flush them first, and Close flushes them last. (Two writer
// goroutines share the batches: a transaction of its own, once a second,
// is simpler than riding on one of their batches and costs one commit
// record.)
//
// Only what committed is kept, so that a batch rolled back and run again
// one operation at a time counts once; a flush that fails puts back what
// it took. Whoever flushes holds flushSem until its transaction has ended,
// so that a Stats read that follows a flush in progress waits for it.
//
// A crash loses at most one interval of this process's rollup counts (the
// stats of the attempts recorded since the last flush); the attempts and
// deliveries themselves are committed as before. With several hookd
// processes on one database, a Stats read flushes only its own process's
// rollups: the other processes' attempts show within their interval.

// flushTimeout bounds a flush that no caller waits for (the flusher's,
// Close's).
const flushTimeout = 30 * time.Second

// flushRollups writes the pending rollups in a transaction of its own and
// returns once it has ended; if one is being written, it waits for it
// first. Nothing pending: nothing to do.
func (s *Store) flushRollups(ctx context.Context) error {
	select {
	case s.flushSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.flushSem }()
	rs := s.rollups.Take()
	if len(rs) == 0 {
		return nil
	}
	s.lastFlush.Store(s.clock.Now().UnixNano())
	s.nRollupFlushes.Add(1)
	err := s.txRetry(ctx, "rollups", func(tx pgx.Tx) error {
		if err := writeRollups(ctx, tx, rs); err != nil {
			return dbErr("rollups", err)
		}
		return nil
	})
	if err != nil {
		s.rollups.Restore(rs)
		return err
	}
	s.nRollupRows.Add(int64(len(rs) + len(store.MergeAppRollups(rs))))
	return nil
}

// flushBeforeRead flushes the pending rollups before a read of them. If
// that fails for want of the database, the read goes on with what is
// stored, short of the pending interval.
func (s *Store) flushBeforeRead(ctx context.Context) error {
	err := s.flushRollups(ctx)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("pgstore: rollups not flushed before a read; it misses the latest attempts", "err", err)
		return nil
	}
	return err
}

// rollupFlusher writes the pending rollups once their interval has run
// out, until Close.
func (s *Store) rollupFlusher() {
	defer close(s.flusherDone)
	kick := s.rollups.Kick()
	for {
		if s.rollups.Len() == 0 {
			select {
			case <-kick:
			case <-s.quit:
				return
			}
		}
		if wait := s.rollupEvery - s.clock.Since(time.Unix(0, s.lastFlush.Load())); wait > 0 {
			select {
			case <-s.clock.After(wait):
			case <-s.quit:
				return
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
		if err := s.flushRollups(ctx); err != nil {
			s.log.Warn("pgstore: rollups not flushed; trying again in an interval", "err", err)
		}
		cancel()
	}
}

// finalFlush writes what is pending as the store closes.
func (s *Store) finalFlush() {
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	if err := s.flushRollups(ctx); err != nil {
		s.log.Error("pgstore: rollups lost at close", "err", err)
	}
}
