package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd/internal/hook"
)

const eventBatchPath = eventsPath + "/batch"

// Limits of POST /v1/apps/{app}/events/batch.
const (
	// MaxBatchEvents is the most events one batch may hold.
	MaxBatchEvents = 1000
	// batchBodyFactor is how many single-event bodies (Config.MaxBodyBytes)
	// a batch body may be as large as, up to maxBatchBodyBytes.
	batchBodyFactor = 16
	// maxBatchBodyBytes bounds a batch body whatever MaxBodyBytes is
	// (unless MaxBodyBytes itself is larger).
	maxBatchBodyBytes = 64 << 20
	// maxBatchErrors bounds the error details of one answer.
	maxBatchErrors = 100
)

// eventBatchRequest documents the body of POST .../events/batch; the route
// parses the body itself (see createEventBatch).
type eventBatchRequest struct {
	Events []eventCreateRequest `json:"events" minItems:"1" maxItems:"1000" doc:"The events, 1 to 1000, each exactly what POST /v1/apps/{app}/events takes."`
}

// eventBatchBody is what createEventBatch decodes the body into; the items
// are parsed one by one, as create-event parses its body.
type eventBatchBody struct {
	Events *[]json.RawMessage `json:"events"`
}

type eventBatchInput struct {
	AppParam
	ContentType string `header:"Content-Type" hidden:"true"`
	RawBody     []byte `contentType:"application/json"`
}

// eventBatchItem is one event of the answer.
type eventBatchItem struct {
	Event    *hook.Event `json:"event" doc:"The event, as create-event returns it (the stored one for a replay)."`
	Replayed bool        `json:"replayed" doc:"true when an event with this id already existed: it is returned as stored and nothing is published for it again."`
}

type eventBatchResponse struct {
	Data []eventBatchItem `json:"data" doc:"One item per event of the request, in its order."`
}

type eventBatchOutput struct {
	Body *eventBatchResponse
}

// batchMaxBody is the body limit of the batch route: batchBodyFactor
// single-event bodies, at most maxBatchBodyBytes (or the single-event
// limit, if that is larger).
func (s *server) batchMaxBody() int64 {
	return min(s.maxBody*batchBodyFactor, max(maxBatchBodyBytes, s.maxBody))
}

// registerEventBatch adds POST /v1/apps/{app}/events/batch.
func (s *server) registerEventBatch() {
	op := s.operation(scopeApp, http.MethodPost, eventBatchPath, "create-event-batch", "Events",
		"Publish up to 1000 events at once", http.StatusAccepted)
	op.Description = "Stores up to " + strconv.Itoa(MaxBatchEvents) + " events, each with its deliveries, in one transaction " +
		"and fans each out as create-event does: either every event of the batch is stored, or none is. " +
		"Each item is checked as create-event checks its body; an invalid item refuses the whole batch (422, located " +
		"at `body.events[i]...`), as do two items with the same id. An item whose id the app already has is not an " +
		"error: it is returned as stored, with `replayed: true`, and nothing is published for it again. " +
		"The body may be " + strconv.Itoa(batchBodyFactor) + " times as large as an event's, up to " +
		strconv.Itoa(maxBatchBodyBytes>>20) + " MiB; each item at most as large as an event's body."
	op.Errors = append(op.Errors, http.StatusUnprocessableEntity)
	op.SkipValidateBody = true             // createEventBatch parses the body, in one pass
	op.MaxBodyBytes = s.batchMaxBody() + 1 // huma refuses this many bytes: see operation
	huma.Register(s.api, op, s.createEventBatch)

	oapi := s.api.OpenAPI()
	ref := oapi.Components.Schemas.Schema(reflect.TypeFor[eventBatchRequest](), true, "EventBatchRequest")
	oapi.Paths[eventBatchPath].Post.RequestBody = &huma.RequestBody{
		Required: true,
		Content:  map[string]*huma.MediaType{"application/json": {Schema: ref}},
	}
}

func (s *server) createEventBatch(ctx context.Context, in *eventBatchInput) (*eventBatchOutput, error) {
	if !isJSON(in.ContentType) {
		return nil, huma.Error415UnsupportedMediaType("the body must be application/json, not " + in.ContentType)
	}
	// The whole body is checked once here (an item's errors are located
	// under body.events[i]); the items are not checked again.
	if te := checkJSONFields(in.RawBody, "body", batchTextFields); te != nil {
		return nil, te.problem()
	}
	var body eventBatchBody
	if err := decodeBody(in.RawBody, "body", &body); err != nil {
		return nil, err
	}
	switch {
	case body.Events == nil:
		return nil, invalid("body.events", "is required", nil)
	case len(*body.Events) == 0:
		return nil, invalid("body.events", "must hold at least 1 event", nil)
	case len(*body.Events) > MaxBatchEvents:
		return nil, invalid("body.events", fmt.Sprintf("must hold at most %d events, not %d", MaxBatchEvents, len(*body.Events)), nil)
	}
	items := *body.Events

	// Every item is checked on its own first, as create-event checks its
	// body, and every problem found is told.
	var errs []*huma.ErrorDetail
	fields := make([]*eventFields, len(items))
	firstWithID := make(map[string]int, len(items))
	for i, raw := range items {
		prefix := itemLoc(i)
		if int64(len(raw)) > s.maxBody {
			errs = append(errs, &huma.ErrorDetail{Location: prefix,
				Message: fmt.Sprintf("is %d bytes: an event may be at most %d", len(raw), s.maxBody)})
			continue
		}
		b, err := parseEventBody(raw, prefix)
		if err != nil {
			ds, ok := invalidDetails(err)
			if !ok {
				return nil, err
			}
			errs = append(errs, ds...)
			continue
		}
		f, ds := checkEvent(b, prefix, "")
		errs = append(errs, ds...)
		fields[i] = f
		if f.id == "" {
			continue
		}
		if first, dup := firstWithID[f.id]; dup {
			errs = append(errs, &huma.ErrorDetail{Location: prefix + ".id",
				Message: "repeats the id of " + itemLoc(first), Value: f.id})
			continue
		}
		firstWithID[f.id] = i
	}
	if len(errs) > 0 {
		return nil, invalidAll(capDetails(errs))
	}

	app, err := s.cachedApp(ctx, in.App)
	if err != nil {
		return nil, s.fail(ctx, err, "path")
	}
	evs := make([]*hook.Event, len(items))
	for i, f := range fields {
		ev, err := s.buildEvent(ctx, app, f, itemLoc(i))
		if err != nil {
			ds, ok := invalidDetails(err)
			if !ok {
				return nil, err
			}
			errs = append(errs, ds...)
			continue
		}
		evs[i] = ev
	}
	if len(errs) > 0 {
		return nil, invalidAll(capDetails(errs))
	}

	res, err := s.disp.PublishBatch(ctx, app, evs)
	if err != nil {
		return nil, s.fail(ctx, err, "body")
	}
	if len(res) != len(evs) {
		return nil, s.fail(ctx, fmt.Errorf("api: %d results for a batch of %d events", len(res), len(evs)), "body")
	}
	out := &eventBatchResponse{Data: make([]eventBatchItem, len(evs))}
	for i, r := range res {
		item := eventBatchItem{Event: evs[i]}
		if r != nil && r.Event != nil {
			item.Event = r.Event
		}
		item.Replayed = r != nil && !r.Created
		out.Data[i] = item
	}
	return &eventBatchOutput{Body: out}, nil
}

// batchTextFields is what checkJSONFields knows of the batch body: its
// own fields, and those of its items, events of create-event.
var batchTextFields = []textFields{
	{depth: 1, names: jsonFieldNames(reflect.TypeFor[eventBatchBody]())},
	{depth: 3, names: eventFieldNames},
}

// itemLoc locates item i of the batch: "body.events[3]".
func itemLoc(i int) string { return "body.events[" + strconv.Itoa(i) + "]" }

// invalidDetails returns the error details of a 422 problem; ok is false
// for any other error.
func invalidDetails(err error) (ds []*huma.ErrorDetail, ok bool) {
	var em *huma.ErrorModel
	if !errors.As(err, &em) || em.Status != http.StatusUnprocessableEntity {
		return nil, false
	}
	if len(em.Errors) == 0 {
		return []*huma.ErrorDetail{{Location: "body", Message: em.Detail}}, true
	}
	return em.Errors, true
}

// capDetails keeps the first maxBatchErrors details.
func capDetails(ds []*huma.ErrorDetail) []*huma.ErrorDetail {
	if len(ds) > maxBatchErrors {
		return ds[:maxBatchErrors]
	}
	return ds
}
