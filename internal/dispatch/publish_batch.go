package dispatch

import (
	"context"
	"fmt"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// PublishBatch is Publish for several events of one app, written in one
// store call (store.InsertEvents): either every event is stored with its
// deliveries, or none is and the error names the item that failed. Each
// event is fanned out as Publish does it (subscriptions, payload filters,
// memory room for deliveries written claimed); the claimed deliveries of
// the events created go to their endpoints' queues once the write has
// committed. An event that is an idempotent replay (its id exists) gets
// the stored event with Created false and publishes nothing. The results
// are in the order of evs.
//
// Every event must belong to app (AppID app.ID).
func (d *Dispatcher) PublishBatch(ctx context.Context, app *hook.App, evs []*hook.Event) ([]*store.InsertEventResult, error) {
	for i, ev := range evs {
		if ev == nil {
			return nil, store.ItemError(i, hook.Errorf(hook.EInvalid, "event", "is required"))
		}
		if ev.AppID != app.ID {
			return nil, store.ItemError(i, hook.Errorf(hook.EInvalid, "app_id", "is %q, not the batch's app %q", ev.AppID, app.ID))
		}
	}
	if len(evs) == 0 {
		return []*store.InsertEventResult{}, nil
	}
	// Disabled endpoints get their deliveries too (see Publish).
	eps, err := d.st.ListFanoutEndpoints(ctx, app.ID)
	if err != nil {
		return nil, err
	}
	fs := d.fanOut(ctx, app, eps, evs)

	// Reserve room for the deliveries before writing them as leased;
	// pending keeps one endpoint's queue within its bound across the
	// batch.
	pending := make(map[string]int)
	d.mu.Lock()
	for _, f := range fs {
		d.reserveLocked(f, pending)
	}
	d.mu.Unlock()

	now := d.clock.Now()
	p := &store.InsertEventsParams{Events: make([]store.InsertEventParams, len(fs))}
	for i, f := range fs {
		p.Events[i] = *d.insertParams(f, now)
	}
	res, err := d.st.InsertEvents(ctx, p)
	if err == nil && len(res) != len(fs) {
		// A store that breaks its contract: which event is which cannot
		// be told, so nothing is handed over.
		err = fmt.Errorf("dispatch: the store returned %d results for %d events", len(res), len(fs))
	}

	d.mu.Lock()
	if err != nil {
		for _, f := range fs {
			d.unreserveLocked(f)
		}
		d.mu.Unlock()
		return nil, err
	}
	events, deliveries, wake := 0, 0, false
	for i, f := range fs {
		if !res[i].Created {
			d.unreserveLocked(f)
			continue
		}
		d.handOverLocked(app, f, res[i].Event)
		events++
		deliveries += len(f.news)
		wake = wake || f.claimed < len(f.news)
	}
	d.scheduleLocked()
	d.mu.Unlock()
	d.metrics.eventsAccepted.Add(float64(events))
	d.metrics.deliveriesCreated.Add(float64(deliveries))
	if wake {
		d.Wake()
	}
	return res, nil
}
