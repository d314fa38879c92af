package store

import (
	"testing"
	"time"
)

// gatherer is a Gatherer of ints with a queue of 16.
func gatherer(maxBatch int, gap time.Duration) (*Gatherer[int], chan int) {
	ops := make(chan int, 16)
	return &Gatherer[int]{Ops: ops, Quit: make(chan struct{}), MaxBatch: maxBatch, Gap: gap, Max: time.Hour}, ops
}

// batchWithin runs g.Batch and fails the test if it has not returned
// within a generous bound (it would otherwise hang the test).
func batchWithin(t *testing.T, g *Gatherer[int], batch []int) []int {
	t.Helper()
	out := make(chan []int, 1)
	go func() { out <- g.Batch(batch) }()
	select {
	case b := <-out:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("Batch waited: a lone operation after a lone one must not")
		return nil
	}
}

func TestGatherDoesNotDelayALoneOperation(t *testing.T) {
	t.Parallel()
	g, _ := gatherer(8, time.Hour) // a gap that would hang the test
	for range 3 {
		if b := batchWithin(t, g, []int{1}); len(b) != 1 {
			t.Fatalf("batch of %d, want 1", len(b))
		}
	}
}

func TestGatherWaitsForMoreUnderLoad(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		first, prev int
	}{{"previous batch had two", 1, 2}, {"this batch has two", 2, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g, ops := gatherer(4, time.Hour)
			g.prev = tc.prev
			waiting := make(chan struct{})
			g.Waits = func() { close(waiting) }
			batch := make([]int, tc.first)
			out := make(chan []int, 1)
			go func() { out <- g.Batch(batch) }()
			select {
			case <-waiting:
			case b := <-out:
				t.Fatalf("Batch returned %d without waiting", len(b))
			}
			// Operations that come after Batch started waiting still join
			// the batch, until it is full (the gap is an hour).
			for range 4 - tc.first {
				ops <- 1
			}
			select {
			case b := <-out:
				if len(b) != 4 {
					t.Fatalf("batch of %d, want 4", len(b))
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Batch did not return with a full batch")
			}
		})
	}
}

func TestGatherStopsAtItsGapAndAtQuit(t *testing.T) {
	t.Parallel()
	g, _ := gatherer(8, time.Millisecond)
	if b := batchWithin(t, g, []int{1, 2}); len(b) != 2 {
		t.Fatalf("batch of %d, want 2", len(b))
	}
	g, _ = gatherer(8, time.Hour)
	quit := make(chan struct{})
	g.Quit = quit
	close(quit)
	if b := batchWithin(t, g, []int{1, 2}); len(b) != 2 {
		t.Fatalf("batch of %d, want 2", len(b))
	}
	// A gap of zero never waits.
	g, _ = gatherer(8, 0)
	g.prev = 5
	if b := batchWithin(t, g, []int{1, 2}); len(b) != 2 {
		t.Fatalf("batch of %d, want 2", len(b))
	}
}
