package store

import "time"

// Defaults of Gatherer.Gap and Gatherer.Max.
const (
	DefaultGatherGap = 300 * time.Microsecond
	DefaultGatherMax = 2 * time.Millisecond
)

// Gatherer completes the batches of a group commit: given a batch that
// holds at least one operation, it takes whatever else is queued, up to
// MaxBatch, and then, under load, waits a little for more.
//
// A commit costs about the same whatever it carries: on SQLite every page
// it dirtied is written in full (and each table or index it touches dirties
// at least one), on PostgreSQL it is a round trip and a WAL flush, and on
// both an fsync. A commit that carries more operations therefore costs less
// per delivery. Under load, operations come in waves (each publisher sends
// its next event when the commit holding its last one has answered), and a
// commit that starts as soon as the first wave is in leaves the next wave
// to a commit of its own.
//
// So, when the batch or the previous one holds more than one operation
// (there is concurrency to gather), Batch waits up to Gap for another
// operation, takes it and everything queued behind it, and waits again,
// until no operation comes within Gap or Max has passed since it started
// waiting. A lone operation after a lone one (low load) is never delayed.
//
// A Gatherer remembers the size of the batch it made last; it is not safe
// for concurrent use.
type Gatherer[T any] struct {
	Ops      <-chan T
	Quit     <-chan struct{} // stops a wait when closed
	MaxBatch int
	// Gap is the longest wait for one more operation; zero or negative
	// never waits. Max bounds the whole wait.
	Gap, Max time.Duration
	// Waits, when not nil, is called when Batch starts waiting (tests).
	Waits func()

	prev int // the size of the last batch
}

// Batch completes batch as described on Gatherer and returns it.
func (g *Gatherer[T]) Batch(batch []T) []T {
	batch = g.take(batch)
	defer func() { g.prev = len(batch) }()
	if g.Gap <= 0 || len(batch) >= g.MaxBatch || (len(batch) < 2 && g.prev < 2) {
		return batch
	}
	if g.Waits != nil {
		g.Waits()
	}
	deadline := time.Now().Add(g.Max)
	t := time.NewTimer(min(g.Gap, g.Max))
	defer t.Stop()
	for len(batch) < g.MaxBatch {
		select {
		case op := <-g.Ops:
			batch = g.take(append(batch, op))
			wait := min(g.Gap, time.Until(deadline))
			if wait <= 0 {
				return batch
			}
			t.Reset(wait)
		case <-t.C:
			return batch
		case <-g.Quit:
			return batch
		}
	}
	return batch
}

// take appends the operations already queued, up to MaxBatch.
func (g *Gatherer[T]) take(batch []T) []T {
	for len(batch) < g.MaxBatch {
		select {
		case op := <-g.Ops:
			batch = append(batch, op)
		default:
			return batch
		}
	}
	return batch
}
