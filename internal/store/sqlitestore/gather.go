package sqlitestore

import "time"

// Defaults of Options.GatherGap and Options.GatherMax.
const (
	DefaultGatherGap = 150 * time.Microsecond
	DefaultGatherMax = time.Millisecond
)

// gather completes a batch that holds at least one operation: it takes
// whatever else is queued, up to the store's MaxBatch, and then, under
// load, waits a little for more.
//
// A SQLite commit writes every page it dirtied in full (4 KiB each, and
// each B-tree a commit touches dirties at least its right-edge leaf), and
// pays one fsync, whatever the number of operations in it: the bytes and
// the fsync are per commit, not per row. A commit that carries more
// operations therefore writes less per delivery. Under load, operations
// come in waves (each publisher sends its next event when the commit
// holding its last one has answered), and a commit that starts as soon as
// the first wave is in leaves the next wave to a commit of its own.
//
// So, when the batch or the previous one holds more than one operation
// (there is concurrency to gather), gather waits up to gap for another
// operation, takes it and everything queued behind it, and waits again,
// until no operation comes within gap or max has passed since it started
// waiting. A lone operation after a lone one (low load) is never delayed.
func (s *Store) gather(batch []*writeOp, prev int) []*writeOp {
	batch = s.drain(batch)
	if s.gatherGap <= 0 || len(batch) >= s.maxBatch || (len(batch) < 2 && prev < 2) {
		return batch
	}
	if s.gatherWaits != nil {
		s.gatherWaits()
	}
	deadline := time.Now().Add(s.gatherMax)
	t := time.NewTimer(s.gatherGap)
	defer t.Stop()
	for len(batch) < s.maxBatch {
		select {
		case op := <-s.ops:
			batch = s.drain(append(batch, op))
			wait := min(s.gatherGap, time.Until(deadline))
			if wait <= 0 {
				return batch
			}
			t.Reset(wait)
		case <-t.C:
			return batch
		case <-s.quit:
			return batch
		}
	}
	return batch
}

// drain appends the operations already queued, up to MaxBatch.
func (s *Store) drain(batch []*writeOp) []*writeOp {
	for len(batch) < s.maxBatch {
		select {
		case op := <-s.ops:
			batch = append(batch, op)
		default:
			return batch
		}
	}
	return batch
}
