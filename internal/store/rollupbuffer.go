package store

import (
	"sync"
	"time"
)

// DefaultRollupInterval is how often, at most, a backend writes the rollups
// of the attempts it recorded (see RollupBuffer).
const DefaultRollupInterval = time.Second

// RollupBuffer holds the rollups of attempts whose transactions have
// committed and that are not written yet, merged by (endpoint, minute) as
// MergeRollups merges them. Backends add to it after each commit that
// recorded attempts, and write what it holds in one transaction at most
// once per interval, before every Stats read, and on Close: a crash loses
// at most one interval of rollup counts, never an attempt or a delivery.
//
// It is safe for concurrent use. Take and Restore let a writer take what
// is pending and put it back if its transaction fails.
type RollupBuffer struct {
	mu   sync.Mutex
	rs   []AttemptRollup
	idx  map[rollupBufferKey]int
	kick chan struct{} // signalled when the buffer goes from empty to not
}

type rollupBufferKey struct {
	endpoint string
	minute   int64
}

// Kick returns a channel that receives a value (without blocking the
// buffer) each time the buffer goes from empty to holding something: a
// flusher waits on it before it starts its interval.
func (b *RollupBuffer) Kick() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.kick == nil {
		b.kick = make(chan struct{}, 1)
	}
	return b.kick
}

// Add merges committed attempts' rollups into the buffer, after what it
// holds: a later attempt's last-attempt fields win unless it started
// earlier, as in MergeRollups.
func (b *RollupBuffer) Add(rs ...AttemptRollup) {
	if len(rs) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	wasEmpty := len(b.rs) == 0
	b.merge(rs)
	if wasEmpty && len(b.rs) > 0 && b.kick != nil {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
}

// merge adds rs to b.rs; b.mu is held.
func (b *RollupBuffer) merge(rs []AttemptRollup) {
	if b.idx == nil {
		b.idx = make(map[rollupBufferKey]int)
	}
	for _, r := range rs {
		k := rollupBufferKey{r.EndpointID, r.Minute}
		i, ok := b.idx[k]
		if !ok {
			b.idx[k] = len(b.rs)
			r.Latency = append(LatencyHistogram(nil), r.Latency...)
			b.rs = append(b.rs, r)
			continue
		}
		m := &b.rs[i]
		m.Succeeded += r.Succeeded
		m.FailedAttempts += r.FailedAttempts
		m.Exhausted += r.Exhausted
		m.Latency = m.Latency.Add(r.Latency)
		if r.LastAt >= m.LastAt {
			m.LastAt, m.LastOK, m.LastStatus, m.LastKind, m.LastMessage = r.LastAt, r.LastOK, r.LastStatus, r.LastKind, r.LastMessage
		}
	}
}

// Len is how many (endpoint, minute) rollups the buffer holds.
func (b *RollupBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.rs)
}

// Take empties the buffer and returns what it held, one rollup per
// (endpoint, minute), in first-seen order.
func (b *RollupBuffer) Take() []AttemptRollup {
	b.mu.Lock()
	defer b.mu.Unlock()
	rs := b.rs
	b.rs, b.idx = nil, nil
	return rs
}

// Restore puts back rollups that Take returned and that could not be
// written, before what was added since (they are older).
func (b *RollupBuffer) Restore(taken []AttemptRollup) {
	if len(taken) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	since := b.rs
	b.rs, b.idx = nil, nil
	b.merge(taken)
	b.merge(since)
	if len(since) == 0 && b.kick != nil {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
}
