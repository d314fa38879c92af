package dispatch

import (
	"context"
	"time"

	"github.com/hookd/hookd/internal/store"
)

// The circuit breaker (breaker.go) lives in this process's memory; the
// store is told when a circuit opens (again, after a failed probe) and
// when it closes, so that every node's API can say which endpoints are
// circuit-open (hook.Endpoint.CircuitOpenUntil, and the troubled endpoints
// of Stats). Those writes are rare (at most one per cooldown and endpoint)
// and off the attempts' path: circuitLoop makes them, the latest state of
// each endpoint only. The stored state is for reporting: other processes
// keep their own breakers. A stored circuit whose time is over reads as
// not open, so the state of a process that died does not linger.

// noteCircuitLocked queues the write of an endpoint's circuit state: open
// until until, or closed when until is zero. Caller holds d.mu.
func (d *Dispatcher) noteCircuitLocked(id string, until time.Time) {
	d.circuits[id] = until
	select {
	case d.circuitKick <- struct{}{}:
	default:
	}
}

// circuitLoop writes the circuit states noteCircuitLocked queued; at stop,
// what is still queued once more.
func (d *Dispatcher) circuitLoop(ctx context.Context) {
	defer d.loops.Done()
	for {
		select {
		case <-ctx.Done():
			flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			d.writeCircuits(flush)
			cancel()
			return
		case <-d.circuitKick:
		}
		d.writeCircuits(ctx)
	}
}

// writeCircuits writes the queued circuit states. A failed write is logged
// and dropped: the breaker works without it, and the next change of the
// endpoint's circuit writes again.
func (d *Dispatcher) writeCircuits(ctx context.Context) {
	d.mu.Lock()
	if len(d.circuits) == 0 {
		d.mu.Unlock()
		return
	}
	queued := d.circuits
	d.circuits = make(map[string]time.Time)
	d.mu.Unlock()
	for id, until := range queued {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := d.st.SetEndpointCircuit(wctx, &store.SetEndpointCircuitParams{EndpointID: id, OpenUntil: until})
		cancel()
		if err != nil && ctx.Err() == nil {
			d.log.Error("recording an endpoint's circuit state", "endpoint", id, "open_until", until, "err", err)
		}
	}
}
