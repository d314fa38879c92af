package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd/internal/envelope"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// Bounds of one replay-missing call.
const (
	// MaxReplayEvents is how many events one replay-missing call sends
	// at most, unless Config.ReplayLimit says otherwise; the answer says
	// where to go on.
	MaxReplayEvents = 10000
	// maxReplayBytes bounds the event data one replay-missing call
	// holds in memory.
	maxReplayBytes = 64 << 20
	// redeliverFilterBudget bounds the time resend and replay-missing
	// spend on payload filters. A filter it leaves undecided keeps its
	// delivery, evaluated by the dispatcher before the first attempt, as
	// on publish.
	redeliverFilterBudget = 2 * time.Second
)

// Reasons an endpoint is skipped by a resend.
const (
	skipDisabled = "disabled"
	skipFiltered = "filtered"
)

type testEventRequest struct {
	Type string          `json:"type" doc:"The event type, from the catalog." example:"order.created"`
	Data json.RawMessage `json:"data,omitempty" doc:"The payload, a JSON object; default: the type's example in the catalog. Checked against the type's schema, if it has one."`
}

type testEventOutput struct {
	Body struct {
		Event    *hook.Event    `json:"event" doc:"The test event, with test: true."`
		Delivery *hook.Delivery `json:"delivery" doc:"Its one delivery, to the endpoint."`
	}
}

type resendRequest struct {
	Endpoints []string `json:"endpoints,omitempty" maxItems:"100" doc:"The endpoints (ids or uids) to send to, each subscribed to the event's type; default: every endpoint of the app that subscribes to it now."`
}

// SkippedEndpoint is an endpoint a resend did not send to, and why.
type SkippedEndpoint struct {
	EndpointID string `json:"endpoint_id"`
	Reason     string `json:"reason" enum:"disabled,filtered" doc:"disabled: the endpoint is disabled; filtered: its payload filter did not let the event through (or failed)."`
}

type resendOutput struct {
	Body struct {
		Event      *hook.Event       `json:"event"`
		Deliveries []*hook.Delivery  `json:"deliveries" doc:"The deliveries created, one per endpoint sent to."`
		Skipped    []SkippedEndpoint `json:"skipped" doc:"The endpoints not sent to."`
	}
}

type replayMissingRequest struct {
	Since time.Time  `json:"since" doc:"The window's start (RFC 3339): events created at or after it. Not in the future, nor before the retention period."`
	Until *time.Time `json:"until,omitempty" doc:"The window's end (RFC 3339): events created before it; default: now."`
}

type replayMissingOutput struct {
	Body struct {
		Sent      int        `json:"sent" doc:"How many events were sent (a new delivery each)."`
		Filtered  int        `json:"filtered" doc:"How many events the endpoint subscribes to were not sent because its payload filter did not let them through."`
		Truncated bool       `json:"truncated" doc:"true when the call stopped before the window's end (at 10,000 events, or 64 MiB of event data): call again with since set to next_since."`
		NextSince *time.Time `json:"next_since,omitempty" doc:"When truncated: the since of the next call, with the same until."`
		Until     time.Time  `json:"until" doc:"The window's end used."`
	}
}

// registerReplay adds the routes that send stored or example events again:
// send-test-event, resend-event and replay-missing.
func (s *server) registerReplay() {
	test := s.operation(scopeApp, http.MethodPost, "/v1/apps/{app}/endpoints/{ep}/test", "send-test-event", "Endpoints",
		"Send a test event to an endpoint", http.StatusAccepted)
	test.Description = "Publishes a test event of a catalog type, with the type's example payload unless `data` is " +
		"given, to this endpoint only, even if others subscribe to the type, and whatever the endpoint's " +
		"event_types and payload filter. It is delivered as any event (signed, in the endpoint's profile or " +
		"envelope, retried) and is kept in the history with `test: true`. A type not in the catalog (or archived), " +
		"or without an example when `data` is absent, is a 422; a disabled endpoint a 409."
	test.Errors = append(test.Errors, http.StatusUnprocessableEntity)
	huma.Register(s.api, test, s.sendTestEvent)

	resend := s.operation(scopeApp, http.MethodPost, eventsPath+"/{id}/resend", "resend-event", "Events",
		"Send an event again", http.StatusAccepted)
	resend.Description = "Sends the event again, as new deliveries (new ids, the same event), to every endpoint " +
		"that subscribes to its type now (endpoints created since included), each endpoint's payload filter " +
		"applied as on publish, or to the endpoints named, which must subscribe to the type. Disabled endpoints " +
		"are skipped and listed; if every endpoint named is disabled, 409. An event whose payload was expunged, " +
		"or a test event, cannot be resent (409)."
	resend.Errors = append(resend.Errors, http.StatusUnprocessableEntity)
	huma.Register(s.api, resend, s.resendEvent)

	replay := s.operation(scopeApp, http.MethodPost, "/v1/apps/{app}/endpoints/{ep}/replay-missing", "replay-missing",
		"Endpoints", "Send an endpoint the events it never got", http.StatusAccepted)
	replay.Description = "Sends the endpoint every event of the app created in [since, until) that it subscribes " +
		"to (event_types, and its payload filter) and has no delivery of, whatever that delivery's status: " +
		"events from before the endpoint existed, or filtered out then. Test events and expunged events are not sent. At most " +
		"10,000 events per call: `truncated` and `next_since` say where to go on. A disabled endpoint is a 409."
	replay.Errors = append(replay.Errors, http.StatusUnprocessableEntity)
	huma.Register(s.api, replay, s.replayMissing)
}

func (s *server) sendTestEvent(ctx context.Context, in *struct {
	EndpointParam
	Body testEventRequest
}) (*testEventOutput, error) {
	var errs []*huma.ErrorDetail
	errs = collect(errs, hook.ValidateEventTypeName("type", in.Body.Type), "body", "type", in.Body.Type)
	data := in.Body.Data
	if isNull(data) {
		data = nil
	}
	if t := bytes.TrimSpace(data); data != nil && (len(t) == 0 || t[0] != '{') {
		errs = append(errs, &huma.ErrorDetail{Location: "body.data", Message: "must be a JSON object"})
	}
	if len(errs) > 0 {
		return nil, invalidAll(errs)
	}
	app, err := s.cachedApp(ctx, in.App)
	if err != nil {
		return nil, s.fail(ctx, err, "path")
	}
	ep, err := s.endpointByRef(ctx, app.ID, in.Endpoint)
	if err != nil {
		return nil, err
	}
	et, err := s.store.GetEventType(ctx, in.Body.Type)
	switch {
	case hook.ErrorCode(err) == hook.ENotFound:
		return nil, invalid("body.type", "is not in the catalog", in.Body.Type)
	case err != nil:
		return nil, s.fail(ctx, err, "body")
	case et.Archived:
		return nil, invalid("body.type", "is archived", in.Body.Type)
	}
	if data == nil {
		if isNull(et.Example) {
			return nil, invalid("body.data", "is required: event type "+et.Name+" has no example in the catalog", nil)
		}
		data = et.Example
	}
	var buf bytes.Buffer
	if err := compactJSON(&buf, data); err != nil {
		return nil, invalid("body.data", "is not valid JSON", nil)
	}
	ti, err := s.types.get(ctx, et.Name)
	if err != nil {
		return nil, s.fail(ctx, err, "body")
	}
	if ti.schema != nil {
		if ds := validateJSON(ti.schema, buf.Bytes(), "body.data"); len(ds) > 0 {
			return nil, huma.Error422UnprocessableEntity("data does not match the schema of event type "+et.Name, detailErrs(ds)...)
		}
	}
	if ep.Disabled {
		return nil, huma.Error409Conflict("endpoint " + ep.ID + " is disabled: enable it to send it a test event")
	}
	ev := &hook.Event{
		ID:         envelope.NewEventID(app.Profile),
		AppID:      app.ID,
		Type:       et.Name,
		Data:       buf.Bytes(),
		Livemode:   app.Livemode,
		APIVersion: app.APIVersion,
		CreatedAt:  s.now().UTC().Truncate(time.Millisecond),
	}
	if app.Profile == hook.ProfileReflow {
		ev.RequestID = newRequestID()
	}
	res, err := s.store.InsertTestEvent(ctx, &store.InsertTestEventParams{Event: ev, DeliveryID: hook.NewID("dlv"), EndpointID: ep.ID})
	if err != nil {
		return nil, s.fail(ctx, err, "body")
	}
	s.disp.Wake()
	out := &testEventOutput{}
	out.Body.Event, out.Body.Delivery = res.Event, res.Deliveries[0]
	return out, nil
}

func (s *server) resendEvent(ctx context.Context, in *struct {
	AppParam
	ID   string         `path:"id" doc:"The event's id."`
	Body *resendRequest `required:"false"`
}) (*resendOutput, error) {
	app, err := s.cachedApp(ctx, in.App)
	if err != nil {
		return nil, s.fail(ctx, err, "path")
	}
	ev, err := s.store.GetEvent(ctx, app.ID, in.ID)
	if err != nil {
		return nil, s.fail(ctx, err, "path")
	}
	switch {
	case ev.ExpungedAt != nil:
		return nil, huma.Error409Conflict("the event's payload was removed (expunged): it cannot be sent again")
	case ev.Test:
		return nil, huma.Error409Conflict("a test event is not resent: send a new one, or retry its delivery")
	}
	all, err := s.store.ListFanoutEndpoints(ctx, app.ID)
	if err != nil {
		return nil, s.fail(ctx, err, "path")
	}
	var named []string
	if in.Body != nil {
		named = in.Body.Endpoints
	}
	var targets []*hook.Endpoint
	if len(named) > 0 {
		var errs []*huma.ErrorDetail
		seen := map[string]bool{}
		for i, ref := range named {
			loc := fmt.Sprintf("body.endpoints[%d]", i)
			ep := findEndpoint(all, ref)
			switch {
			case ep == nil:
				errs = append(errs, &huma.ErrorDetail{Location: loc, Message: "no endpoint of the app has this id or uid", Value: ref})
			case !ep.Subscribes(ev.Type):
				errs = append(errs, &huma.ErrorDetail{Location: loc, Message: "does not subscribe to event type " + ev.Type, Value: ref})
			case !seen[ep.ID]:
				seen[ep.ID] = true
				targets = append(targets, ep)
			}
		}
		if len(errs) > 0 {
			return nil, invalidAll(errs)
		}
	} else {
		for _, ep := range all {
			if ep.Subscribes(ev.Type) {
				targets = append(targets, ep)
			}
		}
	}
	out := &resendOutput{}
	out.Body.Event, out.Body.Deliveries, out.Body.Skipped = ev, []*hook.Delivery{}, []SkippedEndpoint{}
	var enabled []*hook.Endpoint
	for _, ep := range targets {
		if ep.Disabled {
			out.Body.Skipped = append(out.Body.Skipped, SkippedEndpoint{EndpointID: ep.ID, Reason: skipDisabled})
			continue
		}
		enabled = append(enabled, ep)
	}
	if len(named) > 0 && len(enabled) == 0 {
		return nil, huma.Error409Conflict("every endpoint named is disabled: nothing was sent")
	}
	items := make([]store.EventDelivery, len(enabled))
	runs := make([]envelope.FilterRun, 0, len(enabled))
	var runItem []int
	for i, ep := range enabled {
		items[i] = store.EventDelivery{ID: hook.NewID("dlv"), EventID: ev.ID, EndpointID: ep.ID}
		if ep.Filter != "" {
			runs = append(runs, envelope.FilterRun{Filter: ep.Filter, Context: &envelope.Context{
				Event: ev, App: app, EndpointID: ep.ID, EndpointUID: ep.UID, DeliveryID: items[i].ID, Attempt: 1}})
			runItem = append(runItem, i)
		}
	}
	drop := make([]bool, len(items))
	for k, r := range s.programs.MatchAll(ctx, app.ID, redeliverFilterBudget, runs) {
		if !r.Undecided && (r.Err != nil || !r.Match) {
			drop[runItem[k]] = true
		}
	}
	send := items[:0:0]
	for i, it := range items {
		if drop[i] {
			out.Body.Skipped = append(out.Body.Skipped, SkippedEndpoint{EndpointID: it.EndpointID, Reason: skipFiltered})
			continue
		}
		send = append(send, it)
	}
	if len(send) == 0 {
		return out, nil
	}
	ds, err := s.store.CreateDeliveries(ctx, &store.CreateDeliveriesParams{AppID: app.ID, Deliveries: send, Now: s.now().UTC()})
	if err != nil {
		return nil, s.fail(ctx, err, "body")
	}
	s.disp.Wake()
	out.Body.Deliveries = ds
	return out, nil
}

// findEndpoint returns the endpoint of eps that ref names, or nil: its id
// or its uid, read as the store reads a reference (store.EndpointRefColumn).
func findEndpoint(eps []*hook.Endpoint, ref string) *hook.Endpoint {
	byID := store.EndpointRefColumn(ref) == "id"
	for _, ep := range eps {
		if (byID && ep.ID == ref) || (!byID && ep.UID != "" && ep.UID == ref) {
			return ep
		}
	}
	return nil
}

func (s *server) replayMissing(ctx context.Context, in *struct {
	EndpointParam
	Body replayMissingRequest
}) (*replayMissingOutput, error) {
	now := s.now().UTC()
	since, until := in.Body.Since, now
	if in.Body.Until != nil {
		until = *in.Body.Until
	}
	var errs []*huma.ErrorDetail
	switch {
	case since.After(now):
		errs = append(errs, &huma.ErrorDetail{Location: "body.since", Message: "is in the future", Value: since})
	case s.retention > 0 && since.Before(now.Add(-s.retention)):
		errs = append(errs, &huma.ErrorDetail{Location: "body.since",
			Message: "is before the retention period: events older than " + s.retention.String() + " are deleted", Value: since})
	}
	if in.Body.Until != nil && !since.Before(until) {
		errs = append(errs, &huma.ErrorDetail{Location: "body.until", Message: "must be after since", Value: until})
	}
	if len(errs) > 0 {
		return nil, invalidAll(errs)
	}
	app, err := s.cachedApp(ctx, in.App)
	if err != nil {
		return nil, s.fail(ctx, err, "path")
	}
	ep, err := s.endpointByRef(ctx, app.ID, in.Endpoint)
	if err != nil {
		return nil, err
	}
	if ep.Disabled {
		return nil, huma.Error409Conflict("endpoint " + ep.ID + " is disabled: enable it to replay what it missed")
	}
	found, err := s.store.ListUndeliveredEvents(ctx, &store.ListUndeliveredEventsParams{
		AppID: app.ID, EndpointID: ep.ID, EventTypes: ep.EventTypes, Since: since, Until: until,
		Limit: s.replayLimit, MaxBytes: maxReplayBytes,
	})
	if err != nil {
		return nil, s.fail(ctx, err, "body")
	}
	out := &replayMissingOutput{}
	out.Body.Until = until
	if found.More {
		next := found.Next
		out.Body.Truncated, out.Body.NextSince = true, &next
	}
	items := make([]store.EventDelivery, 0, len(found.Events))
	for _, ev := range found.Events {
		items = append(items, store.EventDelivery{ID: hook.NewID("dlv"), EventID: ev.ID, EndpointID: ep.ID})
	}
	if ep.Filter != "" {
		runs := make([]envelope.FilterRun, len(items))
		for i, ev := range found.Events {
			runs[i] = envelope.FilterRun{Filter: ep.Filter, Context: &envelope.Context{
				Event: ev, App: app, EndpointID: ep.ID, EndpointUID: ep.UID, DeliveryID: items[i].ID, Attempt: 1}}
		}
		kept := items[:0]
		for i, r := range s.programs.MatchAll(ctx, app.ID, redeliverFilterBudget, runs) {
			if !r.Undecided && (r.Err != nil || !r.Match) {
				out.Body.Filtered++
				continue
			}
			kept = append(kept, items[i])
		}
		items = kept
	}
	if len(items) == 0 {
		return out, nil
	}
	ds, err := s.store.CreateDeliveries(ctx, &store.CreateDeliveriesParams{
		AppID: app.ID, Deliveries: items, OnlyMissing: true, Now: now,
	})
	if err != nil {
		return nil, s.fail(ctx, err, "body")
	}
	if len(ds) > 0 {
		s.disp.Wake()
	}
	out.Body.Sent = len(ds)
	return out, nil
}
