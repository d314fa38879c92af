package dispatch

import (
	"context"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// endpointHealth is what this process knows of an endpoint that has been
// failing: a circuit breaker, and how long it has failed without a success.
// An endpoint has an entry only while it fails; a success removes it.
//
// After BreakerThreshold failures in a row the circuit opens: no attempt
// starts to the endpoint for a cooldown (BreakerCooldown, doubling with
// each failed probe up to BreakerMaxCooldown), its deliveries wait where
// they are, and then a single attempt probes it. A successful probe closes
// the circuit and the endpoint's queue runs at full concurrency again.
// An endpoint that has failed for DisableAfter with no success in between
// is disabled.
type endpointHealth struct {
	fails        int       // failures in a row
	failingSince time.Time // the first of them
	openUntil    time.Time // zero while closed
	cooldown     time.Duration
	probing      bool // the probe attempt is in flight
	disabling    bool // told to disable the endpoint once
}

// breakerLimitLocked caps limit by the endpoint's circuit: 0 while open, 1
// (the probe) once the cooldown is over, limit when closed. Caller holds
// d.mu.
func (d *Dispatcher) breakerLimitLocked(id string, limit int) int {
	h := d.health[id]
	if h == nil || h.openUntil.IsZero() {
		return limit
	}
	if h.probing || d.clock.Now().Before(h.openUntil) {
		return 0
	}
	return min(limit, 1)
}

// startedLocked notes that an attempt to q's endpoint starts: with the
// circuit open past its cooldown, it is the probe. Caller holds d.mu.
func (d *Dispatcher) startedLocked(id string) {
	if h := d.health[id]; h != nil && !h.openUntil.IsZero() {
		h.probing = true
	}
}

// countsAsEndpointFailure tells the outcomes that say the endpoint is not
// taking deliveries from those that say nothing of it (hookd could not
// build the request, or is stopping) or that end its deliveries anyway
// (410 disables it).
func countsAsEndpointFailure(o hook.Outcome, cut bool) bool {
	return !o.Succeeded() && !cut && o.ErrorKind != hook.ErrorKindInternal && o.StatusCode != 410
}

// noteHealthLocked updates the endpoint's health with an attempt's
// outcome, and says whether the endpoint has now failed long enough to be
// disabled. Caller holds d.mu.
func (d *Dispatcher) noteHealthLocked(q *endpointQueue, o hook.Outcome, cut bool) (disable bool) {
	id := q.ep.ID
	if o.Succeeded() {
		if h := d.health[id]; h != nil {
			if !h.openUntil.IsZero() {
				d.log.Info("endpoint answers again; circuit closed", "endpoint", id, "failures", h.fails)
				d.noteCircuitLocked(id, time.Time{})
			}
			delete(d.health, id)
		}
		return false
	}
	if !countsAsEndpointFailure(o, cut) {
		return false
	}
	return d.noteFailureLocked(q, true)
}

// noteFailureLocked counts a failure of q's endpoint in its circuit
// breaker and, when mayDisable, in how long it has failed: it says
// whether the endpoint has now failed long enough to be disabled. Caller
// holds d.mu.
func (d *Dispatcher) noteFailureLocked(q *endpointQueue, mayDisable bool) (disable bool) {
	id := q.ep.ID
	now := d.clock.Now()
	h := d.health[id]
	if h == nil {
		h = &endpointHealth{failingSince: now}
		d.health[id] = h
	}
	h.fails++
	wasProbe := h.probing
	h.probing = false
	if h.fails >= d.cfg.BreakerThreshold && (h.openUntil.IsZero() || wasProbe) {
		switch {
		case h.cooldown == 0:
			h.cooldown = d.cfg.BreakerCooldown
		case wasProbe:
			h.cooldown = min(2*h.cooldown, d.cfg.BreakerMaxCooldown)
		}
		h.openUntil = now.Add(h.cooldown)
		d.metrics.circuitsOpened.Inc()
		d.log.Warn("endpoint keeps failing; circuit open", "endpoint", id, "failures", h.fails, "probe in", h.cooldown)
		d.clock.AfterFunc(h.cooldown, func() { d.probeDue(id) })
		d.noteCircuitLocked(id, h.openUntil)
	}
	if mayDisable && d.cfg.DisableAfter > 0 && now.Sub(h.failingSince) >= d.cfg.DisableAfter && !h.disabling {
		h.disabling = true
		return true
	}
	return false
}

// probeDue lets an endpoint whose cooldown is over run its probe.
func (d *Dispatcher) probeDue(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	q := d.endpoints[id]
	if q == nil || q.queued() == 0 || q.inReady {
		return
	}
	q.inReady = true
	d.ready = append(d.ready, q)
	d.scheduleLocked()
}

// disableFailing disables an endpoint that has failed for DisableAfter,
// as a 410 would, and tells the store.
func (d *Dispatcher) disableFailing(q *endpointQueue, ep *hook.Endpoint) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	yes := true
	up, err := d.st.UpdateEndpoint(ctx, &store.UpdateEndpointParams{
		AppID: ep.AppID, EndpointID: ep.ID, Disabled: &yes, Now: d.clock.Now(),
	})
	if err != nil {
		d.log.Error("disabling an endpoint that keeps failing", "endpoint", ep.ID, "err", err)
		return
	}
	d.log.Warn("endpoint disabled: it failed for longer than the limit with no success",
		"endpoint", ep.ID, "limit", d.cfg.DisableAfter)
	d.Emit(ep.AppID, OpEndpointDisabled, EndpointOp{EndpointID: ep.ID, AppID: ep.AppID, URL: ep.URL, Reason: "failing"})
	d.EndpointChanged(up)
}
