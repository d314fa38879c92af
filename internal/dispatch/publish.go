package dispatch

import (
	"context"
	"errors"
	"time"

	"github.com/jonboulle/clockwork"

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
	f := d.fanOut(ctx, app, eps, []*hook.Event{ev})[0]

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
	checked []bool              // checked[i]: matched[i] has no filter, or it let ev through
	size    int                 // payload bytes held per claimed delivery
	claimed int                 // deliveries of news with Claimed set
}

// fanOut picks, for each event of app, out of the app's fan-out
// endpoints, those it goes to: subscribed to its type and passing their
// payload filter, each with a fresh delivery id. The filters of all the
// events are evaluated together, within Config.FilterBudget; a filter the
// budget leaves undecided keeps its delivery, unchecked: the dispatcher
// evaluates it before the first attempt (see checkFilter).
func (d *Dispatcher) fanOut(ctx context.Context, app *hook.App, eps []*hook.Endpoint, evs []*hook.Event) []*fanout {
	type candidate struct {
		ep      *hook.Endpoint
		id      string
		checked bool
		drop    bool
	}
	cands := make([][]candidate, len(evs))
	var runs []envelope.FilterRun
	var refs [][2]int // runs[i] is for cands[refs[i][0]][refs[i][1]]
	for i, ev := range evs {
		for _, ep := range eps {
			if !ep.Subscribes(ev.Type) {
				continue
			}
			c := candidate{ep: ep, id: hook.NewID("dlv"), checked: ep.Filter == ""}
			if !c.checked && d.cfg.FilterBudget > 0 {
				runs = append(runs, envelope.FilterRun{Filter: ep.Filter, Context: &envelope.Context{
					Event: ev, App: app, EndpointID: ep.ID, EndpointUID: ep.UID, DeliveryID: c.id, Attempt: 1}})
				refs = append(refs, [2]int{i, len(cands[i])})
			}
			cands[i] = append(cands[i], c)
		}
	}
	if len(runs) > 0 {
		for k, res := range d.render.MatchAll(ctx, app.ID, d.cfg.FilterBudget, runs) {
			c := &cands[refs[k][0]][refs[k][1]]
			switch {
			case res.Undecided:
				d.metrics.filtersDeferred.Inc()
			case res.Err != nil:
				d.metrics.filterErrors.Inc()
				d.log.Warn("payload filter failed; no delivery for this endpoint", "endpoint", c.ep.ID, "event", evs[refs[k][0]].ID, "err", res.Err)
				c.drop = true
			case !res.Match:
				d.metrics.filtered.Inc()
				c.drop = true
			default:
				c.checked = true
			}
		}
	}
	fs := make([]*fanout, len(evs))
	for i, ev := range evs {
		f := &fanout{ev: ev, size: len(ev.Data)}
		for _, c := range cands[i] {
			if c.drop {
				continue
			}
			f.matched = append(f.matched, c.ep)
			f.news = append(f.news, store.NewDelivery{ID: c.id, EndpointID: c.ep.ID})
			f.checked = append(f.checked, c.checked)
		}
		fs[i] = f
	}
	return fs
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
		// A listen endpoint's deliveries go down its stream, which
		// another node may hold: they wait in the store for that
		// node's claim (woken by the store's due signal).
		if !d.holdsListen(ep) {
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
	for i, nd := range f.news {
		if !nd.Claimed {
			continue
		}
		q := d.queueFor(app, byID[nd.EndpointID])
		d.enqueueLocked(q, &store.Job{DeliveryID: nd.ID, EndpointID: nd.EndpointID, Event: stored, FilterChecked: f.checked[i]})
	}
}

// checkFilter evaluates, before a delivery's first attempt, its
// endpoint's payload filter when the publish request did not (its budget
// ran out first, or the delivery came from the store). It reports whether
// the attempt goes ahead. When it does not, the delivery is dealt with:
// discarded if the filter does not let the event through or fails, as it
// would have been at publish, or put off when the filter could not be run
// (the sandbox had no worker for it, or hookd is stopping), to be
// evaluated again.
func (d *Dispatcher) checkFilter(q *endpointQueue, ep *hook.Endpoint, app *hook.App, j *store.Job) bool {
	ok, err := d.render.Match(d.attemptCtx, ep.Filter, &envelope.Context{
		Event: j.Event, App: app, EndpointID: ep.ID, EndpointUID: ep.UID, DeliveryID: j.DeliveryID, Attempt: 1,
	})
	if ok && err == nil {
		return true
	}
	var se *envelope.SandboxError
	switch {
	case errors.As(err, &se) || d.attemptCtx.Err() != nil:
		d.log.Warn("payload filter could not be evaluated; the delivery waits", "endpoint", ep.ID, "delivery", j.DeliveryID, "err", err)
		d.putOff(q, j)
		return false
	case err != nil:
		d.metrics.filterErrors.Inc()
		d.log.Warn("payload filter failed; the delivery is discarded", "endpoint", ep.ID, "event", j.Event.ID, "delivery", j.DeliveryID, "err", err)
	default:
		d.metrics.filtered.Inc()
	}
	d.mu.Lock()
	d.sentLocked(q)
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_, err = d.st.DiscardDeliveries(ctx, &store.DiscardDeliveriesParams{Owner: d.owner, IDs: []string{j.DeliveryID}})
	cancel()
	if err != nil {
		// The lease runs out and the filter is evaluated again.
		d.log.Error("discarding a filtered delivery", "delivery", j.DeliveryID, "err", err)
	}
	d.mu.Lock()
	d.finishLocked(q, j)
	d.mu.Unlock()
	if ep.Ordering == hook.OrderingFIFO {
		d.Wake() // the next of a FIFO endpoint can go now
	}
	return false
}

// putOff ends an attempt that did not start because the jq sandbox had no
// worker for it (the app's programs fill their share of the workers):
// nothing is recorded, it is neither the receiver's failure nor the
// program's. The delivery goes back on its endpoint's queue, in memory,
// and the endpoint's circuit breaker counts a failure, so an app whose
// programs cannot keep up has its endpoints paused (a probe per cooldown)
// rather than spinning. While hookd stops, the delivery is left to Stop,
// which gives back what it holds. Caller does not hold d.mu.
func (d *Dispatcher) putOff(q *endpointQueue, j *store.Job) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sentLocked(q)
	if d.stopping || d.attemptCtx.Err() != nil {
		d.finishLocked(q, j)
		return
	}
	d.noteFailureLocked(q, false)
	d.enqueueLocked(q, j)
	d.scheduleLocked()
}

// pollLoop claims due work from the store when told to, when the earliest
// known due time comes, and at the latest every PollInterval.
//
// It sleeps until d.nextWake. While it polls, nextWake is cleared, so
// that noteDue keeps the earliest due time it is told of meanwhile: a
// retry recorded after the poll read the store, which the poll cannot know
// of. When the poll is over the loop sleeps until the earlier of that and
// what the poll found; it never overwrites what it was told (that made a
// retry falling due during a poll wait up to a whole PollInterval).
func (d *Dispatcher) pollLoop(ctx context.Context) {
	defer d.loops.Done()
	d.mu.Lock()
	if d.nextWake.IsZero() {
		d.nextWake = d.clock.Now().Add(d.cfg.PollInterval)
	}
	next := d.nextWake
	d.mu.Unlock()
	for {
		// The sleep ends at a time, not after a duration computed from
		// Now: a clock that moved on between reading Now and setting a
		// timer would make the timer late by as much. With a real clock
		// that is nanoseconds; a test's fake clock jumps seconds, and
		// clockwork sets its deadline under the clock's own lock.
		sleep, cancel := clockwork.WithDeadline(ctx, d.clock, next)
		select {
		case <-sleep.Done():
		case <-d.wake:
		case <-d.retimer:
			cancel()
			d.mu.Lock()
			if !d.nextWake.IsZero() {
				next = d.nextWake
			}
			d.mu.Unlock()
			continue
		}
		cancel()
		if ctx.Err() != nil {
			return
		}
		d.mu.Lock()
		d.nextWake = time.Time{} // noteDue keeps what falls due during the poll
		d.mu.Unlock()
		next = d.poll(ctx)
		d.mu.Lock()
		if !d.nextWake.IsZero() && d.nextWake.Before(next) {
			next = d.nextWake
		}
		d.nextWake = next
		d.mu.Unlock()
	}
}

// poll claims what fits in memory and returns when to poll next. Once it
// has claimed, the times it returns count from its last claim's look at
// the store, not from when it returns: the clock may have moved on
// meanwhile (a test's fake clock, by seconds), and what fell due since is
// due at once.
func (d *Dispatcher) poll(ctx context.Context) time.Time {
	const batch = 500
	var exclude []string
	perEP := map[string]int{} // jobs claimed per endpoint, in one claim
	lookedAt := d.clock.Now()
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
			return d.clock.Now().Add(d.cfg.PollInterval) // woken again when room frees up
		}
		now := d.clock.Now()
		lookedAt = now
		perEndpoint := min(room, max(d.cfg.EndpointConcurrency*2, 100))
		res, err := d.st.ClaimDeliveries(ctx, &store.ClaimDeliveriesParams{
			Owner:            d.owner,
			Now:              now,
			LeaseUntil:       now.Add(d.cfg.LeaseDuration),
			Limit:            room,
			PerEndpoint:      perEndpoint,
			ExcludeEndpoints: exclude,
			ListenEndpoints:  d.listenAttached(),
		})
		if err != nil {
			d.mu.Lock()
			d.held -= room
			d.mu.Unlock()
			if ctx.Err() == nil {
				d.log.Error("claiming deliveries", "err", err)
			}
			return d.clock.Now().Add(time.Second) // a second after the failure
		}
		d.mu.Lock()
		d.held -= room - len(res.Jobs)
		for _, j := range res.Jobs {
			if _, dup := d.heldIDs[j.DeliveryID]; dup {
				// Already here, queued or in flight: the claim only
				// renewed our own lease on it. Unless its attempt's
				// outcome was written before the claim: see
				// releaseReclaimedLocked.
				d.reclaimed[j.DeliveryID] = struct{}{}
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
		return lookedAt.Add(d.cfg.PollInterval)
	}
	if !next.After(lookedAt) {
		// Work due when the claim looked was left in the store: it was
		// written just after the claim's query, or it cannot be taken
		// now (its endpoint is full, or a FIFO endpoint's first delivery
		// waits for its retry). Look again at once, a few times; full
		// endpoints wake us as they drain; look again in a while anyway.
		if len(exclude) == 0 && d.immediateRepolls < 3 {
			d.immediateRepolls++
			return lookedAt
		}
		return lookedAt.Add(min(d.cfg.PollInterval, time.Second))
	}
	d.immediateRepolls = 0
	if latest := lookedAt.Add(d.cfg.PollInterval); latest.Before(next) {
		return latest
	}
	return next
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
