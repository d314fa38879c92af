package dispatch

import (
	"context"
	"time"

	"github.com/hookd/hookd/internal/envelope"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// Publish fans an event out to the app's enabled endpoints that subscribe
// to its type and stores the event with one delivery per endpoint in one
// durable write. Deliveries that fit in memory are written leased to this
// dispatcher and start at once; the rest wait in the store for the poller.
// On an idempotent replay (an event with this id exists) nothing is
// written and the result's Created is false.
func (d *Dispatcher) Publish(ctx context.Context, app *hook.App, ev *hook.Event) (*store.InsertEventResult, error) {
	// Disabled endpoints get their deliveries too, left in the store
	// (paused) until the endpoint is enabled again: disabled is not
	// dropped.
	eps, err := d.st.ListFanoutEndpoints(ctx, ev.AppID)
	if err != nil {
		return nil, err
	}
	f := d.fanOut(ctx, app, eps, ev)

	// Reserve room for the deliveries before writing them as leased.
	d.mu.Lock()
	d.reserveLocked(f, nil)
	d.mu.Unlock()

	now := d.clock.Now()
	res, err := d.st.InsertEvent(ctx, d.insertParams(f, now))

	d.mu.Lock()
	if err != nil || !res.Created {
		d.unreserveLocked(f)
		d.mu.Unlock()
		return res, err
	}
	d.handOverLocked(app, f, res.Event)
	d.scheduleLocked()
	d.mu.Unlock()
	d.metrics.eventsAccepted.Inc()
	d.metrics.deliveriesCreated.Add(float64(len(f.news)))
	if f.claimed < len(f.news) {
		d.Wake()
	}
	return res, nil
}

// fanout is one event on its way into the store: the endpoints it goes
// to and the deliveries to create, with the memory reserved for those
// created claimed.
type fanout struct {
	ev      *hook.Event
	matched []*hook.Endpoint
	news    []store.NewDelivery // news[i] goes to matched[i]
	size    int                 // payload bytes held per claimed delivery
	claimed int                 // deliveries of news with Claimed set
}

// fanOut picks, out of the app's fan-out endpoints, those the event goes
// to: subscribed to its type and passing their payload filter, each with
// a fresh delivery id.
func (d *Dispatcher) fanOut(ctx context.Context, app *hook.App, eps []*hook.Endpoint, ev *hook.Event) *fanout {
	f := &fanout{ev: ev, matched: eps[:0:0], size: len(ev.Data)}
	ids := make([]string, 0, len(eps))
	for _, ep := range eps {
		if !ep.Subscribes(ev.Type) {
			continue
		}
		id := hook.NewID("dlv")
		if ep.Filter != "" && !d.passes(ctx, app, ep, ev, id) {
			continue
		}
		f.matched = append(f.matched, ep)
		ids = append(ids, id)
	}
	f.news = make([]store.NewDelivery, len(f.matched))
	for i, ep := range f.matched {
		f.news[i] = store.NewDelivery{ID: ids[i], EndpointID: ep.ID}
	}
	return f
}

// reserveLocked marks the deliveries of f that fit in memory Claimed and
// counts them as held. pending counts, per endpoint, the deliveries
// reserved for it before by the same write and not in its queue yet (nil
// for a write of one event, which has at most one delivery per endpoint);
// reserveLocked adds f's to it.
func (d *Dispatcher) reserveLocked(f *fanout, pending map[string]int) {
	for i, ep := range f.matched {
		// A FIFO endpoint's deliveries are claimed one at a time, in
		// order, from the store (see ClaimDeliveries): never here.
		if ep.Ordering == hook.OrderingFIFO || ep.Disabled {
			continue
		}
		q := d.endpoints[ep.ID]
		if d.hasRoomLocked(q, f.size) && d.queueRoomLocked(q, pending[ep.ID]) {
			f.news[i].Claimed = true
			f.claimed++
			d.held++
			d.heldBytes += int64(f.size)
			if pending != nil {
				pending[ep.ID]++
			}
		} else if q != nil {
			q.overflowed = true
		} else {
			d.backlog = true
		}
	}
}

// queueRoomLocked reports whether q's endpoint takes one more delivery
// into memory when pending more are on their way to it already (q is nil
// when the endpoint has no queue yet).
func (d *Dispatcher) queueRoomLocked(q *endpointQueue, pending int) bool {
	n := pending
	if q != nil {
		n += q.queued() + q.inFlight
	}
	return n < d.cfg.EndpointQueue
}

// unreserveLocked gives back the room reserved for f: nothing of it is
// held (the write failed, or the event was a replay).
func (d *Dispatcher) unreserveLocked(f *fanout) {
	d.held -= f.claimed
	d.heldBytes -= int64(f.claimed * f.size)
}

// insertParams is the store write of f: its claimed deliveries leased to
// this dispatcher from now.
func (d *Dispatcher) insertParams(f *fanout, now time.Time) *store.InsertEventParams {
	return &store.InsertEventParams{
		Event:      f.ev,
		Deliveries: f.news,
		Owner:      d.owner,
		LeaseUntil: now.Add(d.cfg.LeaseDuration),
	}
}

// handOverLocked queues f's claimed deliveries, now stored with stored
// (the event as the store returned it), on their endpoints' queues.
func (d *Dispatcher) handOverLocked(app *hook.App, f *fanout, stored *hook.Event) {
	if f.claimed == 0 {
		return
	}
	byID := make(map[string]*hook.Endpoint, len(f.matched))
	for _, ep := range f.matched {
		byID[ep.ID] = ep
	}
	for _, nd := range f.news {
		if !nd.Claimed {
			continue
		}
		q := d.queueFor(app, byID[nd.EndpointID])
		d.enqueueLocked(q, &store.Job{DeliveryID: nd.ID, EndpointID: nd.EndpointID, Event: stored})
	}
}

// passes evaluates the endpoint's payload filter on the event. A filter
// that fails (a runtime error, or the time limit) lets nothing through:
// the event was not shown to match.
func (d *Dispatcher) passes(ctx context.Context, app *hook.App, ep *hook.Endpoint, ev *hook.Event, deliveryID string) bool {
	ok, err := d.render.Match(ctx, ep.Filter, &envelope.Context{
		Event: ev, App: app, EndpointID: ep.ID, EndpointUID: ep.UID, DeliveryID: deliveryID, Attempt: 1,
	})
	if err != nil {
		d.metrics.filterErrors.Inc()
		d.log.Warn("payload filter failed; no delivery for this endpoint", "endpoint", ep.ID, "event", ev.ID, "err", err)
		return false
	}
	if !ok {
		d.metrics.filtered.Inc()
	}
	return ok
}

// pollLoop claims due work from the store when told to, when the earliest
// known due time comes, and at the latest every PollInterval.
func (d *Dispatcher) pollLoop(ctx context.Context) {
	defer d.loops.Done()
	timer := d.clock.NewTimer(d.cfg.PollInterval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-timer.Chan():
		case <-d.retimer:
			d.mu.Lock()
			next := d.nextWake
			d.mu.Unlock()
			timer.Reset(max(next.Sub(d.clock.Now()), 0))
			continue
		}
		wait := d.poll(ctx)
		d.mu.Lock()
		d.nextWake = d.clock.Now().Add(wait)
		d.mu.Unlock()
		timer.Reset(wait)
	}
}

// poll claims what fits in memory and returns how long to sleep.
func (d *Dispatcher) poll(ctx context.Context) time.Duration {
	const batch = 500
	var exclude []string
	perEP := map[string]int{} // jobs claimed per endpoint, in one claim
	for ctx.Err() == nil {
		d.mu.Lock()
		room := min(d.cfg.MaxHeld-d.held, batch)
		exclude = exclude[:0]
		for id, q := range d.endpoints {
			if q.queued()+q.inFlight >= d.cfg.EndpointQueue {
				exclude = append(exclude, id)
				q.overflowed = true // its draining wakes the poller
			}
		}
		stopping := d.stopping
		if room <= 0 || d.heldBytes >= d.cfg.MaxHeldBytes {
			d.backlog = true
			room = 0
		}
		if !stopping && room > 0 {
			d.held += room // reserved, so Publish cannot take the same room meanwhile
		}
		d.mu.Unlock()
		if stopping || room <= 0 {
			return d.cfg.PollInterval // woken again when room frees up
		}
		now := d.clock.Now()
		perEndpoint := min(room, max(d.cfg.EndpointConcurrency*2, 100))
		res, err := d.st.ClaimDeliveries(ctx, &store.ClaimDeliveriesParams{
			Owner:            d.owner,
			Now:              now,
			LeaseUntil:       now.Add(d.cfg.LeaseDuration),
			Limit:            room,
			PerEndpoint:      perEndpoint,
			ExcludeEndpoints: exclude,
		})
		if err != nil {
			d.mu.Lock()
			d.held -= room
			d.mu.Unlock()
			if ctx.Err() == nil {
				d.log.Error("claiming deliveries", "err", err)
			}
			return time.Second
		}
		d.mu.Lock()
		d.held -= room - len(res.Jobs)
		for _, j := range res.Jobs {
			if _, dup := d.heldIDs[j.DeliveryID]; dup {
				// Already here, queued or in flight: the claim only
				// renewed our own lease on it.
				d.held--
				continue
			}
			ep := res.Endpoints[j.EndpointID]
			q := d.queueFor(res.Apps[ep.AppID], ep)
			d.heldBytes += int64(len(j.Event.Data))
			d.enqueueLocked(q, j)
			perEP[j.EndpointID]++
		}
		for id, n := range perEP {
			if n >= perEndpoint {
				// The claim gave this endpoint all it gives one: more
				// is likely waiting in the store. Its draining wakes
				// the poller (finishLocked), so a backlog does not wait
				// for the next tick.
				if q := d.endpoints[id]; q != nil {
					q.overflowed = true
				}
			}
		}
		clear(perEP)
		d.scheduleLocked()
		d.mu.Unlock()
		if len(res.Jobs) < room {
			break
		}
	}
	next, ok, err := d.st.NextDue(ctx)
	if err != nil || !ok {
		return d.cfg.PollInterval
	}
	wait := next.Sub(d.clock.Now())
	if wait <= 0 {
		// Work fell due between the claim and now: look again at once,
		// a few times. Due work we cannot take (its endpoints are full)
		// wakes us as those endpoints drain; look again in a while anyway.
		if len(exclude) == 0 && d.immediateRepolls < 3 {
			d.immediateRepolls++
			return 0
		}
		return min(d.cfg.PollInterval, time.Second)
	}
	d.immediateRepolls = 0
	return min(wait, d.cfg.PollInterval)
}

// renewLoop extends this dispatcher's leases while it holds deliveries.
func (d *Dispatcher) renewLoop(ctx context.Context) {
	defer d.loops.Done()
	ticker := d.clock.NewTicker(d.cfg.LeaseDuration / 3)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.Chan():
		}
		d.mu.Lock()
		held := d.held
		d.mu.Unlock()
		if held == 0 {
			continue
		}
		err := d.st.RenewLeases(ctx, &store.RenewLeasesParams{Owner: d.owner, Until: d.clock.Now().Add(d.cfg.LeaseDuration)})
		if err != nil && ctx.Err() == nil {
			d.log.Error("renewing leases", "err", err)
		}
	}
}
