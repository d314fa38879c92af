package dispatch

import (
	"context"
	"encoding/json"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// Operational event types: hookd's own events, published to the operator's
// app (Config.OperatorApp) through the normal pipeline, so operators
// subscribe endpoints to them like to any event.
const (
	OpEndpointDisabled  = "endpoint.disabled"
	OpEndpointEnabled   = "endpoint.enabled"
	OpDeliveryFailing   = "delivery.failing"
	OpDeliveryExhausted = "delivery.exhausted"
	OpDeliveryRecovered = "delivery.recovered"
	OpEventRejected     = "event.rejected"
)

// FailingAfterAttempts is the failed attempt after which a delivery is
// reported as failing.
const FailingAfterAttempts = 4

// opEvent is one operational event waiting to be published.
type opEvent struct {
	appID string // the app it is about: none of its own are about the operator's app
	typ   string
	data  any
}

// Emit publishes an operational event about appID's resources to the
// operator's app, if one is configured. It never blocks: when the queue
// is full the event is dropped and counted
// (hookd_operational_events_dropped_total). Events about the operator's
// own app are not emitted, so its endpoints failing cannot feed on
// themselves.
func (d *Dispatcher) Emit(appID, typ string, data any) {
	if d.cfg.OperatorApp == "" {
		return
	}
	select {
	case d.ops <- opEvent{appID: appID, typ: typ, data: data}:
	default:
		d.metrics.opsDropped.Inc()
	}
}

// opsLoop publishes the operational events.
func (d *Dispatcher) opsLoop(ctx context.Context) {
	defer d.loops.Done()
	var app *hook.App
	missingSaid := false // the operator app's absence was logged
	for {
		var op opEvent
		select {
		case <-ctx.Done():
			return
		case op = <-d.ops:
		}
		if app == nil || d.clock.Since(app.UpdatedAt) > time.Minute {
			a, err := d.st.GetApp(ctx, d.cfg.OperatorApp)
			if err != nil {
				if hook.ErrorCode(err) != hook.ENotFound {
					d.log.Error("operational events: reading the operator app", "err", err)
				} else if !missingSaid {
					// Once, until the app is found again: the
					// drops go on in hookd_operational_events_dropped_total.
					d.log.Warn("operational events: dropped, HOOKD_OPERATOR_APP names no app",
						"operator_app", d.cfg.OperatorApp, "type", op.typ)
					missingSaid = true
				}
				app = nil
				d.metrics.opsDropped.Inc()
				continue
			}
			app, missingSaid = a, false
		}
		if op.appID == app.ID {
			continue
		}
		data, err := json.Marshal(op.data)
		if err != nil {
			d.log.Error("operational event", "type", op.typ, "err", err)
			continue
		}
		ev := &hook.Event{
			ID: hook.NewID("evt"), AppID: app.ID, Type: op.typ, Data: data, Livemode: true,
			CreatedAt: d.clock.Now().UTC().Truncate(time.Millisecond),
		}
		if _, err := d.Publish(ctx, app, ev); err != nil && ctx.Err() == nil {
			d.log.Error("publishing an operational event", "type", op.typ, "err", err)
		}
	}
}

// deliveryOp is the data of the delivery.* operational events.
type deliveryOp struct {
	DeliveryID   string `json:"delivery_id"`
	EventID      string `json:"event_id"`
	EventType    string `json:"event_type"`
	EndpointID   string `json:"endpoint_id"`
	AppID        string `json:"app_id"`
	Attempts     int    `json:"attempts"`
	LastStatus   int    `json:"last_response_status"`
	LastError    string `json:"last_error,omitempty"`
	NextAttempt  string `json:"next_attempt_at,omitempty"`
	EndpointURL  string `json:"endpoint_url"`
	ErrorKind    string `json:"error_kind,omitempty"`
	AttemptID    string `json:"attempt_id"`
	AttemptStart string `json:"attempt_started_at"`
}

// EndpointOp is the data of the endpoint.* operational events.
type EndpointOp struct {
	EndpointID string `json:"endpoint_id"`
	AppID      string `json:"app_id"`
	URL        string `json:"url"`
	// Reason is why it was disabled: "gone" (it answered 410), "failing"
	// (it failed for too long) or "api" (someone disabled it).
	Reason string `json:"reason,omitempty"`
}

// emitAttemptOps emits what an attempt's outcome says of its delivery.
func (d *Dispatcher) emitAttemptOps(ep *hook.Endpoint, j *store.Job, att *hook.Attempt, o hook.Outcome, dec hook.Decision) {
	if d.cfg.OperatorApp == "" {
		return
	}
	op := func() deliveryOp {
		x := deliveryOp{
			DeliveryID: j.DeliveryID, EventID: j.Event.ID, EventType: j.Event.Type, EndpointID: ep.ID,
			AppID: ep.AppID, Attempts: att.Number, LastStatus: o.StatusCode, LastError: att.Error,
			EndpointURL: ep.URL, ErrorKind: o.ErrorKind, AttemptID: att.ID,
			AttemptStart: att.StartedAt.UTC().Format(time.RFC3339Nano),
		}
		if dec.Status == hook.DeliveryPending && !dec.NextAttemptAt.IsZero() {
			x.NextAttempt = dec.NextAttemptAt.UTC().Format(time.RFC3339Nano)
		}
		return x
	}
	switch {
	case o.Succeeded() && att.Number > 1:
		d.Emit(ep.AppID, OpDeliveryRecovered, op())
	case o.Succeeded():
	case dec.DisableEndpoint:
		d.Emit(ep.AppID, OpEndpointDisabled, EndpointOp{EndpointID: ep.ID, AppID: ep.AppID, URL: ep.URL, Reason: "gone"})
	case dec.Status == hook.DeliveryFailed && !j.Manual:
		d.Emit(ep.AppID, OpDeliveryExhausted, op())
	case att.Number == FailingAfterAttempts:
		d.Emit(ep.AppID, OpDeliveryFailing, op())
	}
}
