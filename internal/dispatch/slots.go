package dispatch

import (
	"context"
	"time"

	"github.com/hookd/hookd/internal/store"
)

// slotLoop keeps this process's share of each endpoint's concurrency limit
// when several processes share the store (store.SlotLeaser).
//
// An endpoint with work asks for as many slots as it has deliveries queued
// or in flight (up to the limit), keeping those it holds while it stays
// busy; what other processes hold is not granted. When other processes wait for slots of an endpoint,
// each holder shrinks towards a fair share (the limit divided among the
// processes that want it), never below what it has in flight, so the
// waiting ones get theirs at their next review. An endpoint without work
// keeps its slots for SlotIdle (so a steady trickle of events does not
// lease and release on every delivery), or gives them back at once if
// someone waits.
//
// Shrinking takes effect here before the store hears of it, and growing
// only once the store granted it, so the processes together never run
// more attempts than the limit.
func (d *Dispatcher) slotLoop(ctx context.Context) {
	defer d.loops.Done()
	ticker := d.clock.NewTicker(d.cfg.SlotTick)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.slotKick:
		case <-ticker.Chan():
		}
		d.reviewSlots(ctx)
	}
}

// reviewSlots makes one round of slot requests for every endpoint that has
// work or holds slots, in one call to the store.
func (d *Dispatcher) reviewSlots(ctx context.Context) {
	now := d.clock.Now()

	d.mu.Lock()
	if d.stopping {
		d.mu.Unlock()
		return
	}
	var reqs []store.SlotRequest
	for id, q := range d.endpoints {
		limit := d.concurrencyOf(q)
		busy := q.queued() + q.inFlight
		want := 0
		switch {
		case busy > 0:
			q.idleSince = time.Time{}
			// Ask for what the work needs now, keeping what is held:
			// a steady trickle holds a few slots and leaves the rest
			// free for other processes, so none of them waits for a
			// review to get one; a backlog grows to the limit.
			want = min(limit, max(busy, q.slots))
			if q.waiting > 0 {
				fair := (limit + q.waiting) / (q.waiting + 1) // rounded up
				want = max(q.inFlight, min(want, fair))
			}
		case q.slots > 0:
			if q.idleSince.IsZero() {
				q.idleSince = now
			}
			if q.waiting == 0 && now.Sub(q.idleSince) < d.cfg.SlotIdle {
				want = q.slots
			}
		default:
			continue
		}
		if want < q.slots {
			q.slots = want // shrink here first
		}
		reqs = append(reqs, store.SlotRequest{EndpointID: id, Want: want, Limit: limit})
	}
	d.mu.Unlock()
	if len(reqs) == 0 {
		return
	}

	grants, err := d.slots.LeaseSlots(ctx, &store.LeaseSlotsParams{
		Owner: d.owner, Now: now, Until: now.Add(d.cfg.SlotLease), Requests: reqs,
	})
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("leasing endpoint slots", "err", err)
		}
		return
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range reqs {
		q, ok := d.endpoints[r.EndpointID]
		if !ok {
			continue
		}
		g := grants[r.EndpointID]
		// The request never asked below what was in flight, so
		// in-flight exceeds the grant only if this process's lease ran
		// out (say, the database was unreachable for longer than
		// SlotLease); then no new attempt starts until it is back
		// under.
		q.slots = g.Granted
		q.short = g.Granted < r.Want
		q.waiting = g.Waiting
		q.others = g.Others
		if q.queued() > 0 && !q.inReady && q.inFlight < q.slots {
			q.inReady = true
			d.ready = append(d.ready, q)
		}
		if q.slots == 0 && q.inFlight == 0 && q.queued() == 0 {
			delete(d.endpoints, r.EndpointID)
		}
	}
	d.scheduleLocked()
}
